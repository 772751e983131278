# gdb's backtrace of every thread, one frame per line: "gdb-thread-number tid pc function".
# Ground truth for dumpdbg's `~* k` (make-native-core.sh writes it beside each core).
# Inline frames share their caller's pc; gdb stops at main (backtrace past-main is off).
import gdb

for thread in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
    thread.switch()
    frame = gdb.newest_frame()
    depth = 0
    while frame is not None and depth < 256:
        print("%d %d 0x%x %s" % (thread.num, thread.ptid[1], frame.pc(), frame.name() or "??"))
        frame = frame.older()
        depth += 1
