#include "store/sqlite_wal_gather.h"

#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

namespace parley::store {
namespace {

std::atomic<std::uint64_t> file_writes{0};
std::atomic<std::uint64_t> sqlite_writes{0};

sqlite3_vfs* base_vfs = nullptr;

// A WAL file: SQLite's file object, then the default VFS's file behind it
// (in the same allocation, szOsFile bytes).
struct GatherFile {
  sqlite3_file file;
  sqlite3_file* real;
  unsigned char* buffer;  // kWalGatherBytes, allocated at the first write
  std::size_t pending;    // bytes in buffer not yet written
  sqlite3_int64 offset;   // where they go
};

constexpr std::size_t kRealOffset = (sizeof(GatherFile) + 15) / 16 * 16;

GatherFile* AsGather(sqlite3_file* file) { return reinterpret_cast<GatherFile*>(file); }

int Flush(GatherFile* g) {
  if (g->pending == 0) return SQLITE_OK;
  const int size = static_cast<int>(g->pending);
  g->pending = 0;
  file_writes.fetch_add(1, std::memory_order_relaxed);
  return g->real->pMethods->xWrite(g->real, g->buffer, size, g->offset);
}

int Close(sqlite3_file* file) {
  GatherFile* g = AsGather(file);
  const int flushed = Flush(g);
  const int closed = g->real->pMethods->xClose(g->real);
  std::free(g->buffer);
  g->buffer = nullptr;
  return flushed != SQLITE_OK ? flushed : closed;
}

int Read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  GatherFile* g = AsGather(file);
  if (const int rc = Flush(g); rc != SQLITE_OK) return rc;
  return g->real->pMethods->xRead(g->real, out, amount, offset);
}

int Write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  GatherFile* g = AsGather(file);
  sqlite_writes.fetch_add(1, std::memory_order_relaxed);
  const auto size = static_cast<std::size_t>(amount);
  const bool continues = g->pending != 0 && offset == g->offset + static_cast<sqlite3_int64>(g->pending);
  if (!continues || g->pending + size > kWalGatherBytes) {
    if (const int rc = Flush(g); rc != SQLITE_OK) return rc;
  }
  if (size > kWalGatherBytes) {
    file_writes.fetch_add(1, std::memory_order_relaxed);
    return g->real->pMethods->xWrite(g->real, data, amount, offset);
  }
  if (g->buffer == nullptr) {
    g->buffer = static_cast<unsigned char*>(std::malloc(kWalGatherBytes));
    if (g->buffer == nullptr) {
      file_writes.fetch_add(1, std::memory_order_relaxed);
      return g->real->pMethods->xWrite(g->real, data, amount, offset);
    }
  }
  if (g->pending == 0) g->offset = offset;
  std::memcpy(g->buffer + g->pending, data, size);
  g->pending += size;
  return SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  GatherFile* g = AsGather(file);
  if (const int rc = Flush(g); rc != SQLITE_OK) return rc;
  return g->real->pMethods->xTruncate(g->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  GatherFile* g = AsGather(file);
  if (const int rc = Flush(g); rc != SQLITE_OK) return rc;
  return g->real->pMethods->xSync(g->real, flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  GatherFile* g = AsGather(file);
  if (const int rc = Flush(g); rc != SQLITE_OK) return rc;
  return g->real->pMethods->xFileSize(g->real, size);
}

int Lock(sqlite3_file* file, int level) {
  GatherFile* g = AsGather(file);
  return g->real->pMethods->xLock(g->real, level);
}

int Unlock(sqlite3_file* file, int level) {
  GatherFile* g = AsGather(file);
  return g->real->pMethods->xUnlock(g->real, level);
}

int CheckReservedLock(sqlite3_file* file, int* out) {
  GatherFile* g = AsGather(file);
  return g->real->pMethods->xCheckReservedLock(g->real, out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  GatherFile* g = AsGather(file);
  if (const int rc = Flush(g); rc != SQLITE_OK) return rc;
  return g->real->pMethods->xFileControl(g->real, op, arg);
}

int SectorSize(sqlite3_file* file) {
  GatherFile* g = AsGather(file);
  return g->real->pMethods->xSectorSize(g->real);
}

int DeviceCharacteristics(sqlite3_file* file) {
  GatherFile* g = AsGather(file);
  return g->real->pMethods->xDeviceCharacteristics(g->real);
}

// Version 1: a WAL file is never memory-mapped and has no shared memory of
// its own (the wal-index belongs to the database file).
const sqlite3_io_methods kGatherMethods = {
    .iVersion = 1,
    .xClose = Close,
    .xRead = Read,
    .xWrite = Write,
    .xTruncate = Truncate,
    .xSync = Sync,
    .xFileSize = FileSize,
    .xLock = Lock,
    .xUnlock = Unlock,
    .xCheckReservedLock = CheckReservedLock,
    .xFileControl = FileControl,
    .xSectorSize = SectorSize,
    .xDeviceCharacteristics = DeviceCharacteristics,
    .xShmMap = nullptr,
    .xShmLock = nullptr,
    .xShmBarrier = nullptr,
    .xShmUnmap = nullptr,
    .xFetch = nullptr,
    .xUnfetch = nullptr,
};

int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // Any other file is the default VFS's, in the same memory.
    return base_vfs->xOpen(base_vfs, name, file, flags, out_flags);
  }
  GatherFile* g = AsGather(file);
  g->file.pMethods = nullptr;
  g->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
  g->real->pMethods = nullptr;
  g->buffer = nullptr;
  g->pending = 0;
  g->offset = 0;
  const int rc = base_vfs->xOpen(base_vfs, name, g->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (g->real->pMethods != nullptr) g->real->pMethods->xClose(g->real);
    return rc;
  }
  g->file.pMethods = &kGatherMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return base_vfs->xDelete(base_vfs, name, sync_dir);
}

int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return base_vfs->xAccess(base_vfs, name, flags, out);
}

int FullPathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return base_vfs->xFullPathname(base_vfs, name, size, out);
}

void* DlOpen(sqlite3_vfs*, const char* name) { return base_vfs->xDlOpen(base_vfs, name); }

void DlError(sqlite3_vfs*, int size, char* out) { base_vfs->xDlError(base_vfs, size, out); }

void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return base_vfs->xDlSym(base_vfs, handle, symbol);
}

void DlClose(sqlite3_vfs*, void* handle) { base_vfs->xDlClose(base_vfs, handle); }

int Randomness(sqlite3_vfs*, int size, char* out) { return base_vfs->xRandomness(base_vfs, size, out); }

int Sleep(sqlite3_vfs*, int microseconds) { return base_vfs->xSleep(base_vfs, microseconds); }

int CurrentTime(sqlite3_vfs*, double* out) { return base_vfs->xCurrentTime(base_vfs, out); }

int GetLastError(sqlite3_vfs*, int size, char* out) { return base_vfs->xGetLastError(base_vfs, size, out); }

int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) { return base_vfs->xCurrentTimeInt64(base_vfs, out); }

sqlite3_vfs gather_vfs{};

bool RegisterOnce() {
  if (sqlite3_initialize() != SQLITE_OK) return false;
  base_vfs = sqlite3_vfs_find(nullptr);
  if (base_vfs == nullptr || base_vfs->iVersion < 2 || base_vfs->xCurrentTimeInt64 == nullptr) return false;
  gather_vfs.iVersion = 2;
  gather_vfs.szOsFile = static_cast<int>(kRealOffset) + base_vfs->szOsFile;
  gather_vfs.mxPathname = base_vfs->mxPathname;
  gather_vfs.zName = kWalGatherVfsName;
  gather_vfs.xOpen = Open;
  gather_vfs.xDelete = Delete;
  gather_vfs.xAccess = Access;
  gather_vfs.xFullPathname = FullPathname;
  gather_vfs.xDlOpen = DlOpen;
  gather_vfs.xDlError = DlError;
  gather_vfs.xDlSym = DlSym;
  gather_vfs.xDlClose = DlClose;
  gather_vfs.xRandomness = Randomness;
  gather_vfs.xSleep = Sleep;
  gather_vfs.xCurrentTime = CurrentTime;
  gather_vfs.xGetLastError = GetLastError;
  gather_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  return sqlite3_vfs_register(&gather_vfs, 0) == SQLITE_OK;
}

}  // namespace

bool RegisterWalGatherVfs() {
  static const bool registered = RegisterOnce();
  return registered;
}

WalGatherCounts WalGatherCountsSoFar() {
  return {file_writes.load(std::memory_order_relaxed), sqlite_writes.load(std::memory_order_relaxed)};
}

}  // namespace parley::store
