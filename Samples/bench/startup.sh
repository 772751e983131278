#!/usr/bin/env bash
# startup.sh - dumpdbg's start-up time: `--version` and `-z minidump2.dmp -c "~; lm; q"`, each run as a child
# process RUNS times (default 60), interleaved with /bin/true; prints the best and the median in ms.
# Usage: Samples/bench/startup.sh [DUMPDBG-BINARY...]   (default: a release build made with --static-swift-stdlib
#        and the C libraries' archives, as Samples/try.sh makes it; give several binaries to compare builds in the same run)
set -euo pipefail
cd "$(dirname "$0")/../.."
DUMP=${DUMP:-../shared/dumps/breakpad/minidump2.dmp}
[ -f "$DUMP" ] || { echo "startup.sh: $DUMP is missing (the shared dumps folder)" >&2; exit 2; }
if [ $# -eq 0 ]; then
  [ "$(uname -s)" = Linux ] && export PKG_CONFIG_PATH=$PWD/Samples/static-libs
  swift build -c release --static-swift-stdlib --product dumpdbg >&2
  set -- .build/release/dumpdbg
fi
python3 - "$DUMP" "${RUNS:-60}" "$@" <<'PY'
import statistics, subprocess, sys, time
dump, runs, binaries = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times = {}
def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t) * 1000
for _ in range(runs):
    times.setdefault(("/bin/true", ""), []).append(timed(["/bin/true"]))
    for b in binaries:
        times.setdefault((b, "--version"), []).append(timed([b, "--version"]))
        times.setdefault((b, '-c "~; lm; q"'), []).append(timed([b, "-z", dump, "-c", "~; lm; q"]))
print(f"{'binary':44} {'run':16} {'best ms':>8} {'median ms':>10}")
for (b, what), ts in times.items():
    print(f"{b:44} {what:16} {min(ts):8.2f} {statistics.median(ts):10.2f}")
PY
