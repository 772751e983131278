# gdb's backtrace of every thread, one frame per line: "gdb-thread-number tid pc function file:line" ("-" when
# gdb knows no source line).
# Ground truth for dumpdbg's `~* k` (make-native-core.sh writes it beside each core).
# Inline frames share their caller's pc; gdb stops at main (backtrace past-main is off).
import gdb

for thread in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
    thread.switch()
    frame = gdb.newest_frame()
    depth = 0
    while frame is not None and depth < 256:
        sal = frame.find_sal()
        where = "%s:%d" % (sal.symtab.filename, sal.line) if sal.symtab is not None and sal.line > 0 else "-"
        print("%d %d 0x%x %s %s" % (thread.num, thread.ptid[1], frame.pc(), frame.name() or "??", where))
        frame = frame.older()
        depth += 1
