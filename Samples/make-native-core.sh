#!/usr/bin/env bash
# make-native-core.sh - real Linux ELF cores of Samples/native/threads.c, with their ground truth.
#
# Usage: make-native-core.sh OUTDIR
#
# Builds threads.c (gcc -g -O0 -pthread), runs it, waits for its facts file, and dumps it:
#   threads.core              gcore (gdb) of `threads live`: main + worker-1..3 blocked, markers on stacks
#   threads.facts.json        what the program knew when it was dumped (pid, tids, names, addresses, values)
#   threads.crash.core        kernel-written core of `threads crash`: worker-2 dies of SIGSEGV at 0x10
#   threads.crash.facts.json    in dumpdbg_crash_here() (skipped, with a message, when the kernel
#                               cannot write cores here: core_pattern is a pipe, or ulimit -Hc is 0)
#   threads32.*               the same for a gcc -m32 build, when gcc -m32 links here (gcc-multilib)
#   threads-opt.*             the same for gcc -O2 -fomit-frame-pointer (only call frame information unwinds it)
#   threads-dbgframe.*        the same with -fno-asynchronous-unwind-tables -fno-unwind-tables: the program's
#                               call frame information is only in .debug_frame, in the file, not loaded
#   *.core.frames.txt         gdb's backtrace of every thread of each core ("gdbthread tid pc function"),
#                               the ground truth for dumpdbg's `~* k` (Samples/native/gdb-frames.py)
#   threads, threads32, threads-opt  the exact executables the cores belong to; threads.c (copy)
#   build-info.txt            compiler, commands, sha256 of source and binaries
#   *.log                     program output and gdb/gcore messages
# Every core is checked with gdb afterwards (thread count, markers, global magic, crash signal).
#
# Environment: FORCE=1 redo even if up to date; M32=0 skip the 32-bit build;
#              INSTALL=0 never apt-get install (gdb, gcc-multilib).
# Idempotent: skipped when build-info.txt records the same source sha256 and all cores exist.
set -euo pipefail
usage() { sed -n '2,24p' "$0" >&2; exit 2; }
[ $# -eq 1 ] || usage
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/native/threads.c
FORCE=${FORCE:-0}; M32=${M32:-1}; INSTALL=${INSTALL:-1}
mkdir -p "$1"; OUT=$(cd "$1" && pwd)
T0=$(date +%s%N)
log() { local d=$(( ($(date +%s%N) - T0) / 100000000 )); printf '[%3d.%ds] %s\n' $((d / 10)) $((d % 10)) "$*"; }
die() { echo "make-native-core: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
[ -f "$SRC" ] || die "missing $SRC"

# ---------------------------------------------------------------- tools
command -v gcc >/dev/null || die "gcc not found (apt-get install gcc)"
if ! command -v gcore >/dev/null; then
  [ "$INSTALL" = 1 ] || die "gcore not found (apt-get install gdb)"
  log "installing gdb (for gcore)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gdb >/dev/null 2>&1 || {
    apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gdb >/dev/null; }
fi
if [ -r /proc/sys/kernel/yama/ptrace_scope ] && [ "$(cat /proc/sys/kernel/yama/ptrace_scope)" = 3 ]; then
  die "ptrace is disabled (kernel.yama.ptrace_scope=3): gcore cannot attach"
fi
m32_ok() { echo 'int main(void){return 0;}' | gcc -m32 -x c - -o "$OUT/.m32test" >/dev/null 2>&1; local r=$?; rm -f "$OUT/.m32test"; return $r; }
BITS="64 opt dbgframe"
if [ "$M32" = 1 ]; then
  if ! m32_ok && [ "$INSTALL" = 1 ]; then
    log "gcc -m32 does not link; trying apt-get install gcc-multilib"
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends gcc-multilib >/dev/null 2>&1 || true
  fi
  if m32_ok; then BITS="64 opt dbgframe 32"; else log "gcc -m32 unavailable: no 32-bit sample"; fi
fi

# kernel cores: possible unless core_pattern pipes to a helper or the hard limit is 0
PATTERN=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo '?')
KERNEL_CORES=1; WHY_NOT=""
case "$PATTERN" in
  '|'*) KERNEL_CORES=0; WHY_NOT="core_pattern pipes to a helper ($PATTERN)";;
  '?')  KERNEL_CORES=0; WHY_NOT="cannot read /proc/sys/kernel/core_pattern";;
esac
[ "$(ulimit -Hc)" != 0 ] || { KERNEL_CORES=0; WHY_NOT="hard core size limit is 0 (ulimit -Hc)"; }
case "$PATTERN" in /*) CORE_DIR=$(dirname "$PATTERN"); case "$CORE_DIR" in *%*) KERNEL_CORES=0; WHY_NOT="core_pattern directory has % specifiers ($PATTERN)";; esac;; *) CORE_DIR="";; esac

# ---------------------------------------------------------------- up to date?
# The script and the gdb helper are part of what the outputs depend on.
SRC_SHA=$(cat "$SRC" "$0" "$HERE/native/gdb-frames.py" | sha256sum | cut -d' ' -f1)
name_of() { case "$1" in 32) echo threads32;; opt) echo threads-opt;; dbgframe) echo threads-dbgframe;; *) echo threads;; esac; }
flags_of() { case "$1" in 32) echo "-m32 -g -O0 -pthread";; opt) echo "-g -O2 -fomit-frame-pointer -pthread";;
  dbgframe) echo "-g -O2 -fomit-frame-pointer -fno-asynchronous-unwind-tables -fno-unwind-tables -pthread";; *) echo "-g -O0 -pthread";; esac; }
expected() { for b in $BITS; do local n; n=$(name_of "$b")
  echo "$n.core $n.facts.json $n.core.frames.txt"; [ "$KERNEL_CORES" = 1 ] && [ "$b" != opt ] && [ "$b" != dbgframe ] && echo "$n.crash.core $n.crash.facts.json $n.crash.core.frames.txt"; done; }
if [ "$FORCE" != 1 ] && grep -qx "source_sha256=$SRC_SHA" "$OUT/build-info.txt" 2>/dev/null; then
  ok=1; for f in $(expected); do [ -s "$OUT/$f" ] || ok=0; done
  if [ $ok = 1 ]; then log "up to date (FORCE=1 to redo): $OUT"; exit 0; fi
fi

# ---------------------------------------------------------------- build
cp "$SRC" "$OUT/threads.c.tmp" && mv "$OUT/threads.c.tmp" "$OUT/threads.c"
rm -f "$OUT"/threads*.core "$OUT"/threads*.facts.json "$OUT"/build-info.txt
{ echo "source=Samples/native/threads.c"; echo "source_sha256=$SRC_SHA"; echo "compiler=$(gcc --version | head -1)"
  echo "gdb=$(gdb --version | head -1)"; echo "kernel=$(uname -r)"; echo "core_pattern=$PATTERN"; } > "$OUT/build-info.tmp"
for b in $BITS; do
  n=$(name_of "$b"); flags=$(flags_of "$b")
  (cd "$OUT" && gcc $flags -o "$n" threads.c) || die "gcc $flags failed"
  echo "build_$n=cd OUTDIR && gcc $flags -o $n threads.c" >> "$OUT/build-info.tmp"
  echo "${n}_sha256=$(sha "$OUT/$n")" >> "$OUT/build-info.tmp"
done
log "built: $(for b in $BITS; do printf '%s ' "$(name_of "$b")"; done)"

# ---------------------------------------------------------------- helpers
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done; rm -rf "$OUT/.run"; }
trap cleanup EXIT
wait_file() { # $1 file $2 pid: wait up to 5 s
  local i; for i in $(seq 1 100); do [ -s "$1" ] && return 0; kill -0 "$2" 2>/dev/null || return 1; sleep 0.05; done; return 1; }
wait_blocked() { # $1 pid $2 facts: wait (up to 5 s) until each thread sits in its blocking system call
  local pid=$1 tid nr i cur
  while read -r tid nr; do
    [ "$nr" -ge 0 ] || continue
    for i in $(seq 1 100); do
      cur=$(cut -d' ' -f1 "/proc/$pid/task/$tid/syscall" 2>/dev/null || echo unreadable)
      [ "$cur" = "$nr" ] && break
      [ "$cur" = unreadable ] && { sleep 0.2; break; }
      sleep 0.05
    done
  done < <(json "$2" '"\n".join("%d %d" % (t["tid"], t["syscall_nr"]) for t in [d["main_thread"]] + d["workers"])')
}
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }

verify() { # $1 exe $2 core $3 facts $4 crash(0/1): check the core with gdb against the facts
  local exe=$1 core=$2 facts=$3 crash=$4 cmds=() i addr val got
  cmds+=(-ex 'info threads' -ex "x/gx $(json "$facts" 'd["global"]["address"]')")
  for i in 0 1 2; do cmds+=(-ex "x/gx $(json "$facts" "d['workers'][$i]['marker_address']")"); done
  [ "$crash" = 1 ] && cmds+=(-ex 'p $_siginfo.si_signo' -ex 'p $_siginfo._sifields._sigfault.si_addr' -ex 'bt 1')
  gdb -nx -batch "${cmds[@]}" "$exe" "$core" > "$core.gdb.txt" 2>&1 || true
  gdb -nx -batch -ex "source $HERE/native/gdb-frames.py" "$exe" "$core" 2>/dev/null | grep -E '^[0-9]+ [0-9]+ 0x' > "$core.frames.txt" || true
  [ -s "$core.frames.txt" ] || die "$core: gdb printed no frames (see $HERE/native/gdb-frames.py)"
  local nthreads; nthreads=$(grep -cE '^[* ] +[0-9]+ +(Thread|LWP)' "$core.gdb.txt" || true)
  [ "$nthreads" = 4 ] || die "$core: gdb sees $nthreads threads, expected 4 (see $core.gdb.txt)"
  grep -q "$(json "$facts" 'd["global"]["magic"]')" "$core.gdb.txt" || die "$core: global magic not found"
  for i in 0 1 2; do
    val=$(json "$facts" "d['workers'][$i]['marker_values'][0]")
    grep -q "$val" "$core.gdb.txt" || die "$core: marker $val of worker-$((i+1)) not found"
  done
  if [ "$crash" = 1 ]; then
    grep -qE '^\$1 = 11$' "$core.gdb.txt" || die "$core: gdb does not report SIGSEGV"
    grep -qE '^\$2 = \(void \*\) 0x10$' "$core.gdb.txt" || die "$core: fault address is not 0x10"
    grep -q 'dumpdbg_crash_here' "$core.gdb.txt" || die "$core: crashing frame is not dumpdbg_crash_here"
  fi
}

# ---------------------------------------------------------------- gcore of the live program
live() { # $1 exe name
  local n=$1 pid s
  rm -f "$OUT/$n.facts.json.new" "$OUT/$n.facts.json.new.tmp"
  s=$(date +%s%N)
  (cd "$OUT" && exec "./$n" live "$OUT/$n.facts.json.new") > "$OUT/$n.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_file "$OUT/$n.facts.json.new" "$pid" || { cat "$OUT/$n.log" >&2; die "$n live: no facts file"; }
  wait_blocked "$pid" "$OUT/$n.facts.json.new"
  rm -f "$OUT/.gcore".*
  gcore -o "$OUT/.gcore" "$pid" > "$OUT/$n.gcore.log" 2>&1 || { cat "$OUT/$n.gcore.log" >&2; die "gcore $pid failed"; }
  kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  [ -s "$OUT/.gcore.$pid" ] || die "gcore wrote no $OUT/.gcore.$pid"
  mv "$OUT/.gcore.$pid" "$OUT/$n.core"; mv "$OUT/$n.facts.json.new" "$OUT/$n.facts.json"
  verify "$OUT/$n" "$OUT/$n.core" "$OUT/$n.facts.json" 0
  log "$n.core: gcore of pid $pid, $(stat -c%s "$OUT/$n.core") bytes, checked with gdb ($(( ($(date +%s%N) - s) / 1000000 )) ms)"
}

# ---------------------------------------------------------------- kernel core of the crashing program
crash() { # $1 exe name
  local n=$1 run=$OUT/.run pid rc core s dir
  s=$(date +%s%N)
  rm -rf "$run"; mkdir -p "$run"; touch "$run/.stamp"; sleep 0.01
  set +e
  { ( cd "$run"; ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -Hc)"
      exec "$OUT/$n" crash "$OUT/$n.crash.facts.json.new" ) > "$OUT/$n.crash.log" 2>&1; } 2>/dev/null
  rc=$?; set -e
  [ $rc = 139 ] || { cat "$OUT/$n.crash.log" >&2; die "$n crash: exit code $rc, expected 139 (SIGSEGV)"; }
  pid=$(json "$OUT/$n.crash.facts.json.new" 'd["pid"]')
  dir=${CORE_DIR:-$run}; core=""
  for f in $(find "$dir" -maxdepth 1 -type f -newer "$run/.stamp" 2>/dev/null); do
    [ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && [ "$(od -An -tu2 -j16 -N2 "$f" | tr -d ' ')" = 4 ] && { core=$f; break; }
  done
  [ -n "$core" ] || { echo "make-native-core: $n crash: the kernel wrote no core in $dir (core_pattern=$PATTERN); kernel cores skipped" >&2
                      rm -f "$OUT/$n.crash.facts.json.new"; KERNEL_CORES=0; return 0; }
  mv "$core" "$OUT/$n.crash.core"; mv "$OUT/$n.crash.facts.json.new" "$OUT/$n.crash.facts.json"
  echo "crash_core_$n=kernel core_pattern=$PATTERN pid=$pid exit_code=$rc" >> "$OUT/build-info.tmp"
  verify "$OUT/$n" "$OUT/$n.crash.core" "$OUT/$n.crash.facts.json" 1
  log "$n.crash.core: kernel core of pid $pid (SIGSEGV), $(stat -c%s "$OUT/$n.crash.core") bytes, checked with gdb ($(( ($(date +%s%N) - s) / 1000000 )) ms)"
}

for b in $BITS; do
  n=$(name_of "$b")
  live "$n"
  # The optimized build is for unwinding by call frame information only; its crash run is not needed.
  if [ "$b" = opt ] || [ "$b" = dbgframe ]; then :; elif [ "$KERNEL_CORES" = 1 ]; then crash "$n"; else log "kernel cores skipped: $WHY_NOT"; fi
done
echo "made=$(date -u +%FT%TZ)" >> "$OUT/build-info.tmp"
mv "$OUT/build-info.tmp" "$OUT/build-info.txt"
log "done: $OUT"
ls -l "$OUT"
