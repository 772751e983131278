#!/usr/bin/env bash
# try.sh - install what dumpdbg needs, build it, and open the bundled sample: a real .NET Core 3.1 crash
# dump of Samples/clr/AsyncCrash.cs (the seed walkthrough's async-void NullReferenceException).
# Extra arguments go to dumpdbg (e.g. -c "!pe; q").
set -euo pipefail
cd "$(dirname "$0")/.."
echo "try.sh: installing the system packages and the .NET runtimes dumpdbg reads (quiet; details in /tmp/dumpdbg-install.log)" >&2
RUNTIME=$(bash Samples/install-deps.sh 2>/tmp/dumpdbg-install.log | tail -1) || { cat /tmp/dumpdbg-install.log >&2; exit 1; }
if [ ! -x .build/release/dumpdbg ]; then
  echo "try.sh: building dumpdbg in release mode; the first build takes about four minutes on two cores" >&2
fi
# --static-swift-stdlib: the Swift runtime and Foundation inside the binary start it in half the time; on Linux the
# C libraries' archives too (Samples/static-libs: pkg-config files that name them). Docs/benchmarks.md section 6.
[ "$(uname -s)" = Linux ] && export PKG_CONFIG_PATH=$PWD/Samples/static-libs
swift build -c release --static-swift-stdlib --product dumpdbg >&2
exec .build/release/dumpdbg -z Samples/dumps/async-crash/linux-3.1.core.xz -i "$RUNTIME" "$@"
