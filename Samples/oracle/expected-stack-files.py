#!/usr/bin/env python3
"""expected-stack-files.py - the test suite's DAC expected files for one dump, from the DAC oracle's output.

Usage: expected-stack-files.py NAME DUMP-TEXT ARGS-OUTPUT STACKREFS-OUTPUT OUTDIR
  NAME              the files' prefix (transition-frames-3.1)
  DUMP-TEXT         how the header names the dump (Samples/dumps/transition-frames/linux-3.1.core.xz)
  ARGS-OUTPUT       `dac-oracle CORE RUNTIME_DIR --args` saved to a file (Samples/oracle/dac-oracle-stack.patch)
  STACKREFS-OUTPUT  `dac-oracle CORE RUNTIME_DIR --stackrefs` saved to a file
Writes OUTDIR/NAME.dac-frames.txt (each thread's walk: SP, IP, Frame or method), NAME.dac-ilmaps.txt (each managed
frame's native-to-IL map) and NAME.dac-stackrefs.txt (the references, as the oracle prints them).
"""
import re
import sys

name, dump, args_path, refs_path, outdir = sys.argv[1:6]
args = open(args_path).read().splitlines()

frames = [
    f"# The DAC's stack walk (IXCLRDataStackWalk over every managed thread) of {dump}: per frame the SP and IP the walk has",
    "# there, then the runtime's explicit Frame (\"[Name: address] method\") or the managed method. From: dac-oracle CORE RUNTIME_DIR --args",
    "# (Samples/oracle/dac-oracle-stack.patch), variables and the Frame chain left out.",
]
ilmaps = [
    f"# The DAC's native-to-IL maps (IXCLRDataMethodInstance::GetILAddressMap) of every managed frame of {dump}: the frame's IP,",
    "# then per row the IL offset (fffffffe prolog, fffffffd epilog, ffffffff no mapping) and the row's native start.",
    "# From: dac-oracle CORE RUNTIME_DIR --args (Samples/oracle/dac-oracle-stack.patch).",
]
ip = None
for line in args:
    m = re.match(r"Thread (\S+) managed id (\d+) OS id (\d+)", line)
    if m:
        frames.append(f"# Thread {m.group(1)} managed id {m.group(2)} OS id {m.group(3)}")
        continue
    if line.startswith("  SP "):
        text = re.sub(r" \(simple \d+ detailed \d+\)$", "", line[2:]).rstrip()
        text = re.sub(r"^(SP \S+ IP \S+) MD \S+ ", r"\1 ", text)
        frames.append(text)
        ip = line.split()[3]
        continue
    m = re.match(r"    # ILAddressMap hr 0 n \d+: (.*)", line)
    if m and ip:
        rows = [r.split("-")[0] for r in m.group(1).split()]
        ilmaps.append(f"IP {ip} " + " ".join(rows))

refs = [
    f"# The DAC's stack references (ISOSDacInterface::GetStackReferences) of {dump},",
    "# from: dac-oracle CORE RUNTIME_DIR --stackrefs (Samples/oracle/dac-oracle-stack.patch); fields as in linux-3.1.dac-stackrefs.txt.",
] + open(refs_path).read().splitlines()

for suffix, lines in (("dac-frames", frames), ("dac-ilmaps", ilmaps), ("dac-stackrefs", refs)):
    with open(f"{outdir}/{name}.{suffix}.txt", "w") as f:
        f.write("\n".join(lines) + "\n")
