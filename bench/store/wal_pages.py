#!/usr/bin/env python3
# wal_pages.py DB: which tables the frames in DB's WAL belong to, per commit.
# Reads the WAL's frames (those of the current salt, i.e. since its last
# restart), maps each page number to its table or index with SQLite's dbstat
# on a copy of the database file without the WAL, and prints the frames per
# commit by table ("new" for pages beyond the copied file). Used for
# docs/benchmarks.md ("CPU per relayed message, second pass"); run it on the
# data directory of a parleyd killed with -9 under load.
import collections
import os
import shutil
import sqlite3
import struct
import sys
import tempfile


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: wal_pages.py path/to/parley.db")
    db = sys.argv[1]
    with open(db + "-wal", "rb") as f:
        wal = f.read()
    if len(wal) < 32:
        sys.exit("the WAL is empty")
    _, _, page_size, _, salt1, salt2, _, _ = struct.unpack(">IIIIIIII", wal[:32])
    frames = []
    offset = 32
    while offset + 24 + page_size <= len(wal):
        pgno, commit, s1, s2, _, _ = struct.unpack(">IIIIII", wal[offset:offset + 24])
        if (s1, s2) != (salt1, salt2):
            break
        frames.append((pgno, commit))
        offset += 24 + page_size
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "copy.db")
        shutil.copy(db, copy)
        con = sqlite3.connect(copy)
        names = {page: name for page, name in con.execute("SELECT pageno, name FROM dbstat")}
        con.close()
    commits = []
    current = []
    for pgno, commit in frames:
        current.append(pgno)
        if commit:
            commits.append(current)
            current = []
    if not commits:
        sys.exit("no complete commit in the WAL")
    counts = collections.Counter(names.get(p, "new") for c in commits for p in c)
    total = sum(len(c) for c in commits)
    print(f"commits={len(commits)} frames={total} frames_per_commit={total / len(commits):.1f}")
    for name, n in counts.most_common():
        print(f"{name:32s} {n / len(commits):6.2f} per commit")


if __name__ == "__main__":
    main()
