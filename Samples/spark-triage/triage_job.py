"""dumpdbg triage on Apache Spark: the same JSON lines as `dumpdbg triage`, one per dump, in the same order.

The driver asks dumpdbg which dumps the paths hold (`dumpdbg triage --list`), spreads them over partitions,
and pipes each partition's paths into `dumpdbg triage -` on an executor (RDD.pipe), which analyses them in
child processes as on one machine. Executors need dumpdbg at the same path and the dumps at the same paths
(shared storage); see README.md.
"""
import argparse
import shlex
import subprocess
import sys

from pyspark import SparkConf, SparkContext


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dumpdbg", required=True, help="the dumpdbg executable, at the same path on every node")
    ap.add_argument("--master", default="local[*]", help="Spark master URL (default: local[*], this machine's cores)")
    ap.add_argument("--partitions", type=int, help="partitions of the dump list (default: Spark's parallelism)")
    ap.add_argument("--image-path", default="", help="';'-separated image folders, as dumpdbg's -i")
    ap.add_argument("--timeout", default="600", help="seconds one dump may take")
    ap.add_argument("--output", help="write the lines as a text-file folder (e.g. on HDFS) instead of printing them")
    ap.add_argument("paths", nargs="+", help="dumps, or folders of dumps")
    args = ap.parse_args()

    listing = subprocess.run([args.dumpdbg, "triage", "--list", *args.paths], capture_output=True, text=True)
    if listing.returncode != 0:
        sys.stderr.write(listing.stderr)
        return listing.returncode
    dumps = listing.stdout.splitlines()
    if not dumps:
        sys.stderr.write("spark-triage: no dumps found in %s\n" % " ".join(args.paths))
        return 2

    sc = SparkContext(conf=SparkConf().setMaster(args.master).setAppName("dumpdbg-triage"))
    sc.setLogLevel("ERROR")
    try:
        partitions = min(len(dumps), args.partitions or sc.defaultParallelism)
        command = [args.dumpdbg, "triage", "--jobs", "1", "--timeout", args.timeout]
        if args.image_path:
            command += ["-i", args.image_path]
        command += ["-"]
        # parallelize keeps the list's order across partitions and pipe keeps it within one, so the
        # collected lines come in the order `dumpdbg triage` prints them.
        lines = sc.parallelize(dumps, partitions).pipe(shlex.join(command), checkCode=True)
        if args.output:
            lines.saveAsTextFile(args.output)
        else:
            for line in lines.collect():
                print(line)
    finally:
        sc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
