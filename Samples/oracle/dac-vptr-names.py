#!/usr/bin/env python3
"""dac-vptr-names.py DAC_FILE ANCHOR_NAME ANCHOR_INDEX

Prints the runtime's VPTR list (vptr_list.h: the classes whose vtables the DAC table holds, in table order) as the
build's own DAC carries it: the DAC keeps the class names for its vtable lookups (daccess.cpp, g_dacVtStrings).
- A Linux libmscordaccore.so holds a pointer array to the UTF-16 names (R_X86_64_RELATIVE relocations, in order).
- A Windows mscordaccore.dll holds the UTF-16 names themselves one after another.
ANCHOR_NAME/ANCHOR_INDEX pin the numbering: a class whose DAC-table entry is known (FlatImageLayout is 121 in
8.0.4, 152 in Windows 3.1.23). The layouts' frameVTables (Sources/ClrLayout/Layouts) come from this output.
"""
import re, subprocess, sys

path, anchor, anchor_index = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, 'rb').read()
UTF16 = rb'(?:[A-Za-z_0-9]\x00){4,}\x00\x00'

if data[:4] == b'\x7fELF':
    relocs = {}
    out = subprocess.run(['readelf', '-rW', path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        w = line.split()
        if len(w) >= 4 and w[2] == 'R_X86_64_RELATIVE':
            relocs.setdefault(int(w[3], 16), []).append(int(w[0], 16))
    # Strings in the first (read-only) segment, where file offset and address agree.
    refs = sorted((off, m.group(0)[:-2].decode('utf-16-le'))
                  for m in re.finditer(UTF16, data) for off in relocs.get(m.start(), []))
    k = next(i for i, (_, s) in enumerate(refs) if s == anchor)
    a = b = k
    while a > 0 and refs[a - 1][0] == refs[a][0] - 8: a -= 1
    while b + 1 < len(refs) and refs[b + 1][0] == refs[b][0] + 8: b += 1
    names = [s for _, s in refs[a:b + 1]]
else:
    at = data.find(anchor.encode('utf-16-le') + b'\x00\x00')
    names, seen = [], False
    runs = list(re.finditer(UTF16, data[max(0, at - 8000):at + 8000]))
    # The run of names around the anchor: consecutive strings, each right after the last (8-byte aligned).
    k = next(i for i, m in enumerate(runs) if m.group(0)[:-2].decode('utf-16-le') == anchor)
    a = b = k
    def gap(x, y): return runs[y].start() - runs[x].end()
    while a > 0 and 0 <= gap(a - 1, a) < 8: a -= 1
    while b + 1 < len(runs) and 0 <= gap(b, b + 1) < 8: b += 1
    names = [m.group(0)[:-2].decode('utf-16-le') for m in runs[a:b + 1]]

base = anchor_index - names.index(anchor)
for i, n in enumerate(names):
    print(base + i, n)
