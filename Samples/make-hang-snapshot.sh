#!/usr/bin/env bash
# make-hang-snapshot.sh - a dump of a live, hung .NET process, written from outside by the runtime's own
# createdump (as `createdump PID` or `dotnet-dump collect` are used in production): no exception, no signal.
#
# Usage: make-hang-snapshot.sh OUTDIR
#   Builds Samples/clr/PoolStarvation.cs (mcs -debug), runs it as `dotnet app.exe hang` on .NET Core 3.1.23
#   (the runtime Samples/install-deps.sh installs), waits for its "FACT ready=1", dumps it with
#   `createdump --withheap`, then stops it. Writes OUTDIR/pool-hang/: app.exe, linux-3.1.core.xz,
#   linux-3.1.facts.txt (the program's FACT lines), linux-3.1.log, build-info.txt.
# Idempotent: skipped when the dump exists and was made from the same source.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
mkdir -p "$1/pool-hang"; OUT=$(cd "$1/pool-hang" && pwd)
SRC=$HERE/clr/PoolStarvation.cs
SHA=$(sha256sum "$SRC" | cut -d' ' -f1)
if [ -s "$OUT/linux-3.1.core.xz" ] && grep -qx "source_sha256=$SHA" "$OUT/build-info.txt" 2>/dev/null; then
  echo "make-hang-snapshot: $OUT is up to date" >&2; exit 0
fi
command -v mcs >/dev/null || { echo "make-hang-snapshot: mcs not found (apt-get install mono-mcs)" >&2; exit 1; }
RT=$(bash "$HERE/install-deps.sh" | tail -1)
HOST=$RT/../../../dotnet
[ -x "$RT/createdump" ] && [ -x "$HOST" ] || chmod +x "$RT/createdump" "$HOST"
WORK=$(mktemp -d); trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
PID=""
cp "$SRC" "$WORK/"
(cd "$WORK" && mcs -debug -out:app.exe PoolStarvation.cs) > "$WORK/mcs.log" 2>&1 || { cat "$WORK/mcs.log" >&2; exit 1; }
cat > "$WORK/app.runtimeconfig.json" <<JSON
{ "runtimeOptions": {
    "framework": { "name": "Microsoft.NETCore.App", "version": "$(basename "$RT")" },
    "configProperties": { "System.Globalization.Invariant": true } } }
JSON
(cd "$WORK" && exec "$HOST" app.exe hang > "$WORK/run.log" 2>&1) &
PID=$!
for _ in $(seq 600); do grep -q '^FACT ready=1' "$WORK/run.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^FACT ready=1' "$WORK/run.log" || { echo "make-hang-snapshot: the program never got ready:" >&2; cat "$WORK/run.log" >&2; exit 1; }
# The host's child is the process itself (exec above); createdump attaches to it with ptrace.
"$RT/createdump" --withheap -f "$WORK/snapshot.core" "$PID" > "$WORK/createdump.log" 2>&1 \
  || { cat "$WORK/createdump.log" >&2; exit 1; }
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
xz -T0 -6 -c "$WORK/snapshot.core" > "$OUT/linux-3.1.core.xz"
cp "$WORK/app.exe" "$OUT/"
cp "$WORK/run.log" "$OUT/linux-3.1.log"
grep '^FACT ' "$WORK/run.log" > "$OUT/linux-3.1.facts.txt"
{ echo "source=Samples/clr/PoolStarvation.cs"; echo "source_sha256=$SHA"; echo "compiler=$(mcs --version)";
  echo "runtime=$RT"; echo "command=dotnet app.exe hang; createdump --withheap -f snapshot.core PID"
  echo "dump_bytes_raw=$(stat -c%s "$WORK/snapshot.core")"; echo "made=$(date -u +%FT%TZ)"; } > "$OUT/build-info.txt"
echo "make-hang-snapshot: $OUT/linux-3.1.core.xz ($(stat -c%s "$OUT/linux-3.1.core.xz") bytes)" >&2
