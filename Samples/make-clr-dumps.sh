#!/usr/bin/env bash
# make-clr-dumps.sh - real CoreCLR crash dumps of the C# samples in Samples/clr/.
#
# Usage: make-clr-dumps.sh OUTDIR [targets...]
#   targets: linux-3.1 linux-8.0 windows-3.1
#   default: AsyncCrash -> linux-3.1 linux-8.0 windows-3.1;  HangSample -> linux-3.1 linux-8.0;
#            TransitionFrames -> linux-3.1 linux-8.0;
#            HeapMillion -> linux-3.1;  PoolStarvation -> linux-3.1 linux-8.0;  HeapBig -> linux-3.1 (HeapMillion.cs with every count times HEAP_SCALE,
#            default 45: a heap over 2 GiB; made only when SAMPLES names it, as the benchmark does)
#   Targets given on the command line are used for every selected sample.
#
# Environment:
#   SAMPLES="AsyncCrash HangSample HeapMillion PoolStarvation TransitionFrames"   which samples (default: these five)
#   LAB_SCRIPT   the lab generator (default: ../shared/labs/make-clr-dumps.sh beside the repo)
#   GC_SERVER=1    run the samples with server GC (COMPlus_gcServer / DOTNET_gcServer; one heap per core, so a
#                  machine with one core still gets workstation GC); writes gc-server.txt beside the dumps
#   LAB_CACHE, FORCE, KEEP_RAW, DUMP_TYPE, SMALL, ICU, WIN_DUMP_FLAGS: passed through to it
#     (LAB_CACHE defaults to ~/.cache/clr-lab; the runtimes, the Wine prefix and run dirs live there)
#
# Writes OUTDIR/async-crash/, OUTDIR/hang/ and OUTDIR/heap-million/, each as the lab script makes them
# (<Sample>.cs, app.exe, app.exe.mdb, build-info.txt, <target>.core.xz | windows-3.1.mdmp.xz,
# <target>.log, runtime-<target>.txt), plus <target>.facts.txt: the program's FACT lines from
# that target's log. Checks that each log shows the expected unhandled exception and the FACT
# lines, and that the target-independent facts agree across targets.
# Idempotent: the lab script skips targets whose dump was made from the same app.exe.
set -euo pipefail
usage() { sed -n '2,25p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_SCRIPT=${LAB_SCRIPT:-$HERE/../../shared/labs/make-clr-dumps.sh}
[ -f "$LAB_SCRIPT" ] || { echo "make-clr-dumps: lab script not found: $LAB_SCRIPT (set LAB_SCRIPT)" >&2; exit 1; }
mkdir -p "$1"; OUT=$(cd "$1" && pwd); shift
USER_TARGETS="$*"
for t in $USER_TARGETS; do case $t in linux-3.1|linux-8.0|windows-3.1) ;; *) echo "unknown target $t" >&2; usage;; esac; done
SAMPLES=${SAMPLES:-AsyncCrash HangSample HeapMillion PoolStarvation TransitionFrames}
if [ "${GC_SERVER:-}" = 1 ]; then export COMPlus_gcServer=1 DOTNET_gcServer=1; fi

# sample -> directory, default targets, expected exception line in the log
dir_of()     { case $1 in AsyncCrash) echo async-crash;; HangSample) echo hang;; HeapMillion) echo heap-million;; HeapBig) echo heap-big;; PoolStarvation) echo pool;; TransitionFrames) echo transition-frames;; *) return 1;; esac; }
targets_of() { case $1 in AsyncCrash) echo linux-3.1 linux-8.0 windows-3.1;; HangSample|PoolStarvation|TransitionFrames) echo linux-3.1 linux-8.0;; HeapMillion|HeapBig) echo linux-3.1;; esac; }
expect_of()  { case $1 in
  AsyncCrash)  echo 'Unhandled exception. System.NullReferenceException: Object reference not set to an instance of an object.';;
  HangSample)  echo 'Unhandled exception. System.InvalidOperationException: HangSample: the deadlock is ready';;
  HeapMillion|HeapBig) echo 'Unhandled exception. System.InvalidOperationException: HeapMillion: heap is ready';;
  PoolStarvation) echo 'Unhandled exception. System.InvalidOperationException: PoolStarvation: the pool is starved';;
  TransitionFrames) echo 'Unhandled exception. System.NullReferenceException: Object reference not set to an instance of an object.';; esac; }
# facts that legitimately differ per target/run
VARYING='^FACT (pid|clr_version|os|.*os_tid.*|.*managed_id|stack\..*)='   # stacks: the runtime's own frames differ by version

fail=0
for s in $SAMPLES; do
  src=$HERE/clr/$s.cs
  # HeapBig: HeapMillion.cs with every count times HEAP_SCALE (default 45: a heap over 2 GiB, a core of
  # about 2.3 GB; not made by default, the benchmark makes it).
  if [ "$s" = HeapBig ]; then src=$HERE/clr/HeapMillion.cs; export HEAP_SCALE=${HEAP_SCALE:-45}; else unset HEAP_SCALE; fi
  sd=$(dir_of "$s") || { echo "unknown sample $s (AsyncCrash, HangSample, HeapMillion, HeapBig, PoolStarvation, TransitionFrames)" >&2; exit 2; }
  [ -f "$src" ] || { echo "missing $src" >&2; exit 1; }
  tg=${USER_TARGETS:-$(targets_of "$s")}
  echo "== $s -> $OUT/$sd ($tg)"
  start=$(date +%s)
  # shellcheck disable=SC2086
  bash "$LAB_SCRIPT" "$src" "$OUT/$sd" $tg
  echo "== $s: lab script took $(( $(date +%s) - start )) s"
  [ "${GC_SERVER:-}" = 1 ] && echo "gc=server cores=$(nproc) env=COMPlus_gcServer=1 DOTNET_gcServer=1" > "$OUT/$sd/gc-server.txt"
  ref=""
  for t in $tg; do
    log=$OUT/$sd/$t.log
    dump=$OUT/$sd/$t.core.xz; [ "$t" = windows-3.1 ] && dump=$OUT/$sd/$t.mdmp.xz
    if [ ! -s "$dump" ] || [ ! -f "$log" ]; then echo "FAIL $s/$t: no dump or log" >&2; fail=1; continue; fi
    grep -F "$(expect_of "$s")" "$log" >/dev/null || { echo "FAIL $s/$t: expected exception not in $log" >&2; fail=1; }
    tr -d '\r' < "$log" | grep '^FACT ' > "$OUT/$sd/$t.facts.txt" || true   # Windows console: CRLF
    nf=$(wc -l < "$OUT/$sd/$t.facts.txt")
    [ "$nf" -gt 10 ] || { echo "FAIL $s/$t: only $nf FACT lines in $log" >&2; fail=1; }
    grep -Ev "$VARYING" "$OUT/$sd/$t.facts.txt" > "$OUT/$sd/.$t.stable" || true
    if [ -z "$ref" ]; then ref=$t
    elif ! cmp -s "$OUT/$sd/.$ref.stable" "$OUT/$sd/.$t.stable"; then
      echo "FAIL $s: facts of $t differ from $ref:" >&2; diff "$OUT/$sd/.$ref.stable" "$OUT/$sd/.$t.stable" >&2 || true; fail=1
    fi
    printf '   %-12s %-22s %10s bytes xz, raw %s, %s FACT lines\n' "$t" "$(basename "$dump")" "$(stat -c%s "$dump")" \
      "$(sed -n 's/^dump_bytes_raw=//p' "$OUT/$sd/runtime-$t.txt")" "$nf"
  done
  rm -f "$OUT/$sd"/.*.stable
done
[ $fail = 0 ] || { echo "make-clr-dumps: some checks failed" >&2; exit 1; }
echo "make-clr-dumps: all checks passed: $OUT"
