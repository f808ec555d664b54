#!/usr/bin/env bash
# A small end-to-end check of parley-load against a real parleyd: 20
# accounts registered over the wire protocol, 20 authenticated TLS
# WebSockets, 2 s of 1:1 messages; parley-load exits 0 only when every
# connection came up and every accepted message was delivered once.
#   smoke_test.sh PARLEYD PARLEY_LOAD CONFIG
set -euo pipefail
parleyd=$1
load=$2
config=$3
dir=$(mktemp -d /tmp/parley-load-smoke-XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

"$parleyd" --config "$config" serve --data-dir "$dir/data" --port-file "$dir/port" 2>"$dir/stderr.log" &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
[ -s "$dir/port" ] || { echo "parleyd did not start"; cat "$dir/stderr.log"; exit 1; }
port=$(cat "$dir/port")

timeout 60 "$load" register --port "$port" --count 20 --accounts "$dir/accounts.txt"
timeout 60 "$load" run --port "$port" --accounts "$dir/accounts.txt" --connections 20 --processes 2 \
  --sources 2 --rate 100 --duration 2 --drain-seconds 5 --server-pid "$pid" | tee "$dir/run.txt"
grep -q "connected=20 failed=0" "$dir/run.txt"
grep -Eq "^sent=[1-9][0-9]* accepted=[1-9][0-9]* delivered=[1-9][0-9]* lost=0 duplicates=0 skipped=0" "$dir/run.txt"
