#!/usr/bin/env bash
# fuzz.sh - builds dumpdbg's libFuzzer targets (swiftc -sanitize=fuzzer,address) and runs them.
#
# Usage: Samples/fuzz.sh TARGET|all [RUNS] [-- libFuzzer options]
#   targets: dumpmodel (minidump/ELF core bytes: the dump model's parsers and address space, no commands),
#            dump (the same bytes, then native commands), metadata (PE + ECMA-335 metadata),
#            commandline (the line splitter and the MASM evaluator), clr (patches into the hang sample's
#            runtime structures, then .loadby and one SOS command the input picks; needs DUMPDBG_RUNTIME_3_1
#            or Samples/install-deps.sh),
#            symbols (a Breakpad .sym file: parsed, resolved, and used to walk minidump2.dmp's x86 stacks),
#            gcinfo (the JIT's x64 GC info: header, safe points, slot table, live slots at an offset)
#   RUNS     executions per target (default 100000); a crash, leak, or a single run over 10 s fails it
# Seed corpora come from ../shared/dumps and the project's own samples (copied into .build-fuzz/corpus).
# Crashes are written to .build-fuzz/crashes/TARGET/; each becomes a regression test with its input.
# The modules are compiled straight with swiftc into .build-fuzz/ (SwiftPM cannot build a libFuzzer
# target); a module is rebuilt when one of its sources is newer, and so is every module after it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
TARGET=$1; RUNS=${2:-100000}; shift $(( $# >= 2 ? 2 : 1 ))
[ "${1:-}" = "--" ] && shift
OUT=.build-fuzz
SHARED=../shared/dumps
FLAGS=(-sanitize=fuzzer,address -parse-as-library -O -g -I "$OUT" -I Sources/CCompression -I Sources/CCapstone)
mkdir -p "$OUT"

REBUILT=0
module() {  # name; modules are built in dependency order, and a rebuilt one rebuilds those after it
  local name=$1 lib="$OUT/lib$1.a"
  if [ "$REBUILT" = 0 ] && [ -f "$lib" ] && [ -z "$(find "Sources/$name" -newer "$lib" -name '*.swift' | head -1)" ]; then return; fi
  REBUILT=1
  echo "fuzz.sh: compiling $name" >&2
  local sources; mapfile -t sources < <(find "Sources/$name" -name '*.swift' | sort)
  swiftc "${FLAGS[@]}" -emit-library -static -module-name "$name" -emit-module -emit-module-path "$OUT/$name.swiftmodule" \
    "${sources[@]}" -o "$lib"
}

build() {  # target
  module DumpModel; module Metadata; module Native; module Unwind; module ClrLayout; module Commands
  local bin="$OUT/fuzz-$1" src="Samples/fuzz/$1.swift" support=Samples/fuzz/support/Scratch.swift
  if [ -x "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$support" ] && [ "$bin" -nt "$OUT/libCommands.a" ]; then return; fi
  echo "fuzz.sh: linking $bin" >&2
  swiftc "${FLAGS[@]}" "$src" "$support" -o "$bin" -L "$OUT" -lCommands -lClrLayout -lUnwind -lNative -lMetadata -lDumpModel \
    -llzma -lz -lbz2 -lcapstone -lstdc++ 2>&1 | grep -v "Cannot export local symbol" >&2 || true
  [ -x "$bin" ] || { echo "fuzz.sh: linking $1 failed" >&2; exit 1; }
}

corpus() {  # target -> a folder of seeds
  local dir="$OUT/corpus/$1"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    case $1 in
      dumpmodel)
        # Small real dumps of every kind (the large ones only slow each run down).
        find "$SHARED" -type f \( -name '*.dmp' -o -name '*.core' -o -name '*core' \) -size -400k 2>/dev/null \
          | head -40 | while read -r f; do cp "$f" "$dir/"; done ;;
      dump)
        # The same dumps, each with 0-13 zero bytes after it: the target picks its command by the input's length
        # (mod 14), and nearly every real dump's length is even, so each command gets every dump this way. Bytes
        # past the end change nothing for either format: minidump streams and ELF segments are found by offset.
        find "$SHARED" -type f \( -name '*.dmp' -o -name '*.core' -o -name '*core' \) -size -400k 2>/dev/null \
          | head -40 | while read -r f; do
            for k in $(seq 0 13); do { cat "$f"; head -c "$k" /dev/zero; } > "$dir/$(basename "$f").$k"; done
          done ;;
      metadata)
        cp "$SHARED/clr/async-crash/app.exe" Samples/dumps/async-crash/app.exe "$dir/" 2>/dev/null || true ;;
      commandline)
        printf '%s' '~* e r; .echo "a;b"; $$ c' > "$dir/split"; printf '%s' '? poi(@rsp+8)*2 + (ntdll << 4) % 0n10' > "$dir/masm"
        printf '%s' 'db @rsp L?ffffffff; s -a 0 ffffffffffffffff "x"' > "$dir/ranges"; printf '%s' '? ((((-1))))' > "$dir/nest"
        printf '%s' '.for (r $t0 = 0; @$t0 < 3; r $t0 = @$t0 + 1) { .if (@$t0 == 1) { .continue } .else { .printf "%d", @$t0 } }' > "$dir/script"
        printf '%s' 'as /x A @$ip; .foreach /pS 1 (t { r; k 3 }) { .echo ${A} t }; ad *' > "$dir/alias" ;;
      symbols)
        # The real symbol files the tests use, cut to the records minidump2's stack needs (and the small inline one).
        local fx=Tests/Fixtures/breakpad-symbols
        xz -dc "$fx/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym.xz" | awk '
          /^(MODULE|FILE)/ { print; next }
          /^(FUNC|PUBLIC|STACK)/ { keep = ($0 ~ / (41b0|4290|528d|42ae|42af|1dc0) /) }
          keep { print }' > "$dir/test_app"
        xz -dc "$fx/linux_inline/BBA6FA10B8AAB33D00000000000000000/linux_inline.sym.xz" > "$dir/linux_inline"
        xz -dc "$fx/crash-client/509C0610949836F7B70BD88BCF03E5400/crash-client.sym.xz" | head -400 > "$dir/crash_client" ;;
      gcinfo)
        cp Samples/fuzz/seeds/gcinfo/* "$dir/" ;;
      clr)
        # For each of the 13 commands (the first byte), patch records (u16 window, u16 offset, u32 value): zeros,
        # all ones, small values.
        local patches=('\x00\x00\x08\x00\x00\x00\x00\x00' '\x03\x00\x10\x00\xff\xff\xff\xff'
                       '\x05\x00\x00\x00\x01\x00\x00\x00\x06\x00\x08\x00\x00\x10\x00\x00')
        for c in $(seq 0 12); do
          printf "\\x$(printf %02x "$c")${patches[c % 3]}" > "$dir/command-$c"
        done ;;
    esac
  fi
  # Inputs the clr target once failed on, in an old corpus too: every run replays them first.
  [ "$1" = clr ] && cp Tests/Fixtures/fuzz-crashers/clr-* "$dir/"
  echo "$dir"
}

run() {  # target, then extra libFuzzer options
  local t=$1; shift
  build "$t"
  local crashes="$OUT/crashes/$t" seeds
  mkdir -p "$crashes"
  seeds=$(corpus "$t")
  echo "fuzz.sh: $t, $RUNS runs" >&2
  # -rss_limit_mb: a leak or runaway allocation fails; -timeout: a hang fails. Swift's own backtracer is off so a
  # Swift trap (SIGILL/SIGTRAP) reaches libFuzzer, which then saves the input as a crash artifact.
  ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=5} SWIFT_BACKTRACE=enable=no "$OUT/fuzz-$t" -runs="$RUNS" -max_len=1048576 -timeout=10 -rss_limit_mb=4096 -artifact_prefix="$crashes/" \
    -print_final_stats=1 "$@" "$seeds" > "$OUT/$t.log" 2>&1 || true
  grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|==[0-9]+==ERROR|SUMMARY)' "$OUT/$t.log" >&2 || true
  if grep -qE '==[0-9]+==ERROR|deadly signal|Timeout|out-of-memory' "$OUT/$t.log"; then
    echo "fuzz.sh: $t FAILED: see $OUT/$t.log and $crashes/" >&2
    return 1
  fi
}

# The clr target reads the hang sample with the 3.1 runtime's files.
if [ -z "${DUMPDBG_RUNTIME_3_1:-}" ]; then
  DUMPDBG_RUNTIME_3_1=$(bash Samples/install-deps.sh 2>/dev/null | tail -1 || true); export DUMPDBG_RUNTIME_3_1
fi

case $TARGET in
  all) fail=0; for t in dumpmodel dump metadata commandline clr symbols gcinfo; do run "$t" "$@" || fail=1; done; exit $fail ;;
  dumpmodel|dump|metadata|commandline|clr|symbols|gcinfo) run "$TARGET" "$@" ;;
  *) echo "unknown target $TARGET (dumpmodel, dump, metadata, commandline, clr, symbols, gcinfo, all)" >&2; exit 2 ;;
esac
