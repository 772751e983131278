#!/usr/bin/env python3
"""frame-registers.py - the DAC's register context of every managed frame, from the dac-oracle's --args output.

The oracle (../shared/labs/dac-oracle with the stack walk of Docs/clr/debug-info.md, run as `dac-oracle --args`)
prints, for each managed frame of each thread, `# ctx rsp ... rdx ...`: IXCLRDataStackWalk::GetContext, the context
SOS's `!CLRStack -r` prints. This keeps one line per frame, `OSID SP name=value ...`, for
Tests/ClrLayoutTests/Expected/<dump>.dac-frame-registers.txt.

Usage: frame-registers.py ORACLE-OUTPUT > EXPECTED
"""
import re
import sys

thread = sp = None
print("# OS thread id, the frame's SP, then the DAC's frame context (IXCLRDataStackWalk::GetContext)")
for line in open(sys.argv[1]):
    m = re.match(r"Thread \S+ managed id \d+ OS id (\d+)", line)
    if m:
        thread = int(m.group(1))
        continue
    m = re.match(r"  SP ([0-9a-f]+) IP [0-9a-f]+ MD", line)
    if m:
        sp = m.group(1)
        continue
    m = re.match(r"    # ctx (.*)", line)
    if m and thread is not None and sp is not None:
        pairs = re.findall(r"([a-z0-9]+) ([0-9a-f]{16})", m.group(1))
        print(f"{thread:x} {sp} " + " ".join(f"{k}={v}" for k, v in pairs))
