// The WAL-gathering SQLite VFS: the default (unix) VFS, except that a
// connection's writes to its WAL file are gathered in memory and reach the
// file in as few writes as possible.
//
// SQLite writes each WAL frame with two calls (its 24-byte header, then the
// page), so a group commit of n pages costs 2n pwrite calls, each taking the
// file's locks and updating its times. Here contiguous writes collect in a
// buffer (up to kWalGatherBytes) that is written with one call when SQLite
// next does anything else with the file: xSync (every commit, with
// synchronous=FULL), xRead, xTruncate, xFileSize, xFileControl, xClose, or a
// write that does not continue the buffer. Everything SQLite wrote is thus in
// the file before the fsync that makes a commit durable, and before SQLite or
// another connection can read it back; a failed write is reported by the
// call that flushes it (the commit's xSync fails, so the commit fails).
//
// Only for connections whose commits sync the WAL (synchronous=FULL or
// EXTRA): with NORMAL or OFF a commit publishes its frames to other
// connections without an xSync, and they could read them before the write.
// Files other than WAL files are the default VFS's own, unchanged.
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::store {

// The VFS's name, for sqlite3_open_v2.
inline constexpr const char* kWalGatherVfsName = "parley-wal-gather";

// The most bytes gathered before they are written: under the default VFS's
// limit for one write (it writes at most 128 KiB - 1 bytes per call and
// reports a longer write as a full disk); 29 WAL frames of 4 KiB pages.
inline constexpr std::size_t kWalGatherBytes = 120 * 1024;

// Registers the VFS with SQLite (not as the default) on the first call;
// later calls do nothing. False when SQLite has no default VFS to wrap or
// refused the registration. Thread-safe.
bool RegisterWalGatherVfs();

// Writes the VFS made to WAL files since the process started, and the writes
// SQLite asked it for (tests and diagnostics).
struct WalGatherCounts {
  std::uint64_t file_writes = 0;
  std::uint64_t sqlite_writes = 0;
};
WalGatherCounts WalGatherCountsSoFar();

}  // namespace parley::store
