#!/bin/sh
# dumpdbg triage on Apache Spark in local mode: the same JSON lines as `dumpdbg triage`.
#
#   Samples/spark-triage/run.sh [--image-path "A;B"] [--partitions N] DUMP|FOLDER...
#
# Installs what it needs the first time: Java from Debian (openjdk-17-jre-headless) when there is no java,
# and PySpark from PyPI into a virtual environment ($DUMPDBG_SPARK_VENV, default ~/.cache/dumpdbg-spark/venv).
# dumpdbg is $DUMPDBG, else the project's release build, else its debug build, else built now (release).
# SETUP_ONLY=1 installs and stops (used by Samples/install-deps.sh --tests).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${DUMPDBG_SPARK_VENV:-$HOME/.cache/dumpdbg-spark/venv}
pyspark_version=4.3.0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if ! command -v java >/dev/null 2>&1; then
  echo "spark-triage: apt-get install openjdk-17-jre-headless" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >&2
fi
if ! "$venv/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$pyspark_version')" 2>/dev/null; then
  echo "spark-triage: installing PySpark $pyspark_version into $venv (about 450 MB, once)" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "pyspark==$pyspark_version" >&2
fi
[ "${SETUP_ONLY:-0}" = 1 ] && exit 0

dumpdbg=${DUMPDBG:-}
if [ -z "$dumpdbg" ]; then
  for candidate in "$root/.build/release/dumpdbg" "$root/.build/debug/dumpdbg"; do
    if [ -x "$candidate" ]; then dumpdbg=$candidate; break; fi
  done
fi
if [ -z "$dumpdbg" ]; then
  echo "spark-triage: building dumpdbg (swift build -c release --static-swift-stdlib, a few minutes)" >&2
  (cd "$root" && swift build -c release --static-swift-stdlib --product dumpdbg >&2)
  dumpdbg=$root/.build/release/dumpdbg
fi

JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
export JAVA_HOME
# Spark's own start-up chatter stays out of the JSON on standard output.
exec "$venv/bin/python" "$here/triage_job.py" --dumpdbg "$dumpdbg" "$@"
