#!/usr/bin/env bash
# try.sh - install what dumpdbg needs, build it, and open the bundled sample: a real .NET Core 3.1 crash
# dump of Samples/clr/AsyncCrash.cs (the seed walkthrough's async-void NullReferenceException).
# Extra arguments go to dumpdbg (e.g. -c "!pe; q").
set -euo pipefail
cd "$(dirname "$0")/.."
RUNTIME=$(bash Samples/install-deps.sh | tail -1)
swift build -c release --product dumpdbg >&2
exec .build/release/dumpdbg -z Samples/dumps/async-crash/linux-3.1.core.xz -i "$RUNTIME" "$@"
