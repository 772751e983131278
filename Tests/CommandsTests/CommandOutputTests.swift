import Commands
import DumpModel
import Foundation
import Testing

/// Commands on real dumps, checked line by line against values other tools read from the same dumps
/// (Breakpad's minidump_dump output for minidump2.dmp, lldb's test for sigsegv.dmp).
@Suite(.enabled(if: Fixtures.available, Fixtures.absent))
struct CommandOutputTests {
    let md2 = "breakpad/minidump2.dmp"

    @Test func registersOnX86() throws {
        let text = try Fixtures.run(md2, "r")
        #expect(text == """
        eax=00400000 ebx=7c883780 ecx=7c80b46e edx=7c97c0d8 esi=000007b8 edi=00000000
        eip=7c90eb94 esp=0012f320 ebp=0012f384 iopl=0         nv up ei pl zr na pe nc
        cs=001b  ss=0023  ds=0023  es=0023  fs=003b  gs=0000             efl=00000246
        ntdll+0xeb94:
        7c90eb94 c3              ret

        """)
    }

    @Test func namedRegistersAndViews() throws {
        #expect(try Fixtures.run(md2, "r eip") == "eip=7c90eb94\n")
        #expect(try Fixtures.run(md2, "r eax, esp") == "eax=00400000 esp=0012f320\n")
        #expect(try Fixtures.run(md2, "r xyz") == "Bad register error at 'xyz'\n")
        let x64 = try Fixtures.run("lldb/Shell-Minidump-Windows-Sigsegv/sigsegv.dmp", ".ecxr", "r ecx, cl, rdx")
        #expect(x64.hasSuffix("ecx=a1313010 cl=10 rdx=000000000000000a\n"))
    }

    @Test func exceptionRecord() throws {
        #expect(try Fixtures.run(md2, ".exr -1") == """
        ExceptionAddress: 0040429e (test_app+0x429e)
           ExceptionCode: c0000005 (Access violation)
          ExceptionFlags: 00000000
        NumberParameters: 2
           Parameter[0]: 00000001
           Parameter[1]: 00000045
        Attempt to write to address 00000045

        """)
        #expect(try Fixtures.run(md2, ".lastevent").hasPrefix("Last event: f5c.bf4: Access violation - code c0000005 (first/second chance not available)\n"))
        let none = try Fixtures.run("breakpad/tiny-exe-with-cet-xsave.dmp", ".exr -1", ".ecxr")
        #expect(none == "Unable to get exception record: this dump has no exception stream\nUnable to get exception context, HRESULT 0x8000FFFF\n")
    }

    @Test func ecxrSwitchesToTheExceptionContext() throws {
        let (text, session) = Fixtures.run(try Fixtures.open(md2), [".ecxr", "r eip"])
        #expect(text.contains("eip=0040429e esp=0012fe84 ebp=0012fe88"))
        #expect(text.hasSuffix("eip=0040429e\n"))
        #expect(session.useExceptionContext)
    }

    @Test func displayMemory() throws {
        // Region 0 of minidump2.dmp as Breakpad dumped it: ff83c4ec890424c744240401000000895c2408c7...
        #expect(try Fixtures.run(md2, "db 7c90eb14 L20") == """
        7c90eb14  ff 83 c4 ec 89 04 24 c7-44 24 04 01 00 00 00 89  ......$.D$......
        7c90eb24  5c 24 08 c7 44 24 10 00-00 00 00 54 e8 77 00 00  \\$..D$.....T.w..

        """)
        #expect(try Fixtures.run(md2, "dd 7c90eb14 L4") == "7c90eb14  ecc483ff c7240489 01042444 89000000\n")
        #expect(try Fixtures.run(md2, "dw 7c90eb14 L4") == "7c90eb14  83ff ecc4 0489 c724\n")
        // The end of the region: 4 bytes present, then ??.
        #expect(try Fixtures.run(md2, "db 7c90ec10 L8") == "7c90ec10  8c 98 98 00 ?? ?? ?? ??                          ....????\n")
        #expect(try Fixtures.run(md2, "dd 0 L2") == "00000000  ???????? ????????\n")
        // `db` with no address continues where the last one stopped.
        let (text, _) = Fixtures.run(try Fixtures.open(md2), ["db 7c90eb14 L10", "db L10"])
        #expect(text.hasSuffix("7c90eb24  5c 24 08 c7 44 24 10 00-00 00 00 54 e8 77 00 00  \\$..D$.....T.w..\n"))
    }

    @Test func strings() throws {
        // The stack of thread 0 holds "c:\\test_app.exe" in UTF-16 (seen in minidump_dump's memory dump).
        let hits = try Fixtures.run(md2, "s -u 12f31c L ce4 \"test_app\"")
        #expect(hits == """
        0012f54e  74 00 65 00 73 00 74 00-5f 00 61 00 70 00 70 00  t.e.s.t._.a.p.p.
        0012f762  74 00 65 00 73 00 74 00-5f 00 61 00 70 00 70 00  t.e.s.t._.a.p.p.

        """)
        #expect(try Fixtures.run(md2, "du 0012f548") == "0012f548  \"c:\\test_app.exe\"\n")
        #expect(try Fixtures.run(md2, "s -b 7c90eb14 L100 8b 04 24 8b e5") == "7c90eb74  8b 04 24 8b e5 5d c3 90-8d a4 24 00 00 00 00 8d  ..$..]....$.....\n")
    }

    @Test func modules() throws {
        let lm = try Fixtures.run(md2, "lm")
        let lines = lm.split(separator: "\n")
        #expect(lines.first == "start    end        module name")
        #expect(lines[1] == "00400000 0042d000   test_app   (deferred)             ")
        #expect(lines.count == 14)
        let lmv = try Fixtures.run(md2, "lmv m test_app")
        #expect(lmv.contains("    Image path: c:\\test_app.exe\n"))
        #expect(lmv.contains("    Timestamp:        Wed Feb 14 19:13:48.000 2007 (UTC + 0:00) (45D35F6C)\n"))
        #expect(lmv.contains("    PDB GUID:         {5A9832E5-2872-41C1-838E-D98914E9B7FF}, age 1\n"))
        #expect(try Fixtures.run(md2, "lmvm ntdll").contains("    File version:     5.1.2600.2180\n"))
        #expect(try Fixtures.run(md2, "lm m k*").split(separator: "\n").count == 2)
    }

    @Test func threads() throws {
        let dump = try Fixtures.open("rust-minidump/stability-report.dmp")
        let (text, session) = Fixtures.run(dump, ["~"])
        let lines = text.split(separator: "\n")
        #expect(lines.count == 19)
        #expect(lines[0] == ".  0  Id: 3b6c.3124 Suspend: 0 Teb: 00000026`0b2b5000 Unfrozen \"CrRendererMain\"")
        #expect(lines[4] == "   4  Id: 3b6c.3c8c Suspend: 0 Teb: 00000026`0b2bd000 Unfrozen \"LoaderLockSampler\"")
        session.execute(line: "~3s")
        #expect(session.currentThread == 3)
        #expect(session.prompt == "0:003> ")
        session.execute(line: "~~[3c8c]s")
        #expect(session.currentThread == 4)
        let out = Output.Buffer()
        let s2 = Session(dump: dump, output: Output(sink: out.append))
        s2.execute(line: "~2s; ~")
        #expect(out.text.contains("\n.  2  Id: 3b6c.4a58") && out.text.contains("\n#  0  Id: 3b6c.3124"))
        s2.execute(line: "~99s")
        #expect(out.text.hasSuffix("Illegal thread error in '~99s'\n"))
    }

    @Test func commandOnEveryThread() throws {
        let text = try Fixtures.run(md2, "~* e r eip; r esp")
        // Both threads wait in ntdll!KiFastSystemCallRet (minidump2.dump.out); their stacks differ.
        #expect(text == "eip=7c90eb94\nesp=0012f320\neip=7c90eb94\nesp=0097f6ec\n")
        #expect(try Fixtures.run(md2, "~1 e r esp") == "esp=0097f6ec\n")
        #expect(try Fixtures.run(md2, "~1 e r esp; r eip") == "esp=0097f6ec\neip=7c90eb94\n")
    }

    @Test func evaluate() throws {
        let cases: [(String, String)] = [
            ("? 0n10", "Evaluate expression: 10 = 0000000a"), ("? 1+2*3", "Evaluate expression: 7 = 00000007"),
            ("? (1+2)*3", "Evaluate expression: 9 = 00000009"), ("? 0y101", "Evaluate expression: 5 = 00000005"),
            ("? 0t17", "Evaluate expression: 15 = 0000000f"), ("? 10 - 20", "Evaluate expression: -16 = fffffff0"),
            ("? test_app", "Evaluate expression: 4194304 = 00400000"), ("? test_app+0x429e", "Evaluate expression: 4211358 = 0040429e"),
            ("? poi(esp)", "Evaluate expression: 2089871808 = 7c90e9c0"), ("? dwo(7c90eb14)", "Evaluate expression: -322665473 = ecc483ff"),
            ("? by(7c90eb14)", "Evaluate expression: 255 = 000000ff"), ("? @eip - ntdll", "Evaluate expression: 60308 = 0000eb94"),
            ("? 7 % 4 == 3", "Evaluate expression: 1 = 00000001"), ("? 1 << 4 | 1", "Evaluate expression: 17 = 00000011"),
            ("? $tid", "Evaluate expression: 3060 = 00000bf4"), ("? $tpid", "Evaluate expression: 3932 = 00000f5c"),
            ("? foo", "Couldn't resolve error at 'foo'"), ("? poi(0)", "Memory access error at ')'"),
            ("? 1/0", "Divide by zero error at ''"),
        ]
        for (cmd, expected) in cases {
            #expect(try Fixtures.run(md2, cmd) == expected + "\n", "\(cmd)")
        }
        #expect(try Fixtures.run("rust-minidump/stability-report.dmp", "? 00007ff6`127dc480") == "Evaluate expression: 140694848914560 = 00007ff6`127dc480\n")
    }

    /// `$exentry`: gdb's `info auxv` gives AT_ENTRY 0x400144 for this core; `objdump -p` on the Windows
    /// dotnet.exe 3.1.23 gives AddressOfEntryPoint 0xf350 (its headers are in the minidump). minidump2 holds
    /// no image headers: no entry point, as WinDbg without the image.
    @Test func entryPointPseudoRegister() throws {
        #expect(try Fixtures.run("lldb/elf-core/linux-x86_64.core", "? $exentry") == "Evaluate expression: 4194628 = 00000000`00400144\n")
        #expect(try Fixtures.run("clr/async-crash/windows-3.1.mdmp.xz", "? $exentry - dotnet") == "Evaluate expression: 62288 = 00000000`0000f350\n")
        #expect(try Fixtures.run(md2, "? $exentry") == "Bad register error at '$exentry'\n")
    }

    @Test func disassembly() throws {
        let text = try Fixtures.run("lldb/Shell-Minidump-Windows-Sigsegv/sigsegv.dmp", "u 00007ff7a13110d9 L6")
        #expect(text == """
        sigsegv+0x10d9:
        00007ff7`a13110d9 c704250000000000000000 mov     dword ptr [0],0
        00007ff7`a13110e4 488d0d451f0000  lea     rcx,[sigsegv+0x3030 (00007ff7`a1313030)]
        00007ff7`a13110eb e829ffffff      call    sigsegv+0x1019 (00007ff7`a1311019)
        00007ff7`a13110f0 4883c428        add     rsp,28h
        00007ff7`a13110f4 c3              ret
        00007ff7`a13110f5 cc              int3

        """)
    }

    @Test func addressRegions() throws {
        let one = try Fixtures.run("rust-minidump/stability-report.dmp", "!address 7ff6127dc480")
        #expect(one.hasPrefix("""
        Usage:                  Image
        Base Address:           00007ff6`12451000
        End Address:            00007ff6`1adc4000
        Region Size:            00000000`08973000 ( 137.449 MB)
        State:                  00001000MEM_COMMIT
        Protect:                00000020PAGE_EXECUTE_READ
        Type:                   01000000MEM_IMAGE
        More info:              lmv m electron
        """))
        let list = try Fixtures.run("breakpad/tiny-exe-with-cet-xsave.dmp", "!address")
        #expect(list.split(separator: "\n").filter { $0.hasPrefix("+") }.count == 557, "one line per MemoryInfoList entry")
        let summary = try Fixtures.run("breakpad/tiny-exe-with-cet-xsave.dmp", "!address -summary")
        #expect(summary.contains("--- Usage Summary ---------------- RgnCount ----------- TotalSize -------- %ofBusy %ofTotal"))
        // Breakpad Linux minidumps: the regions come from the /proc/self/maps the dump carries (35 lines here).
        let maps = try Fixtures.run("rust-minidump/linux-mini.dmp", "!address")
        #expect(maps.split(separator: "\n").filter { $0.hasPrefix("+") }.count == 35)
        #expect(maps.contains("+    7f51`4015d000     7f51`4031d000        0`001c0000 MEM_IMAGE   MEM_COMMIT  PAGE_EXECUTE_READ                  Image      [libc_2_23; \"/lib/x86_64-linux-gnu/libc-2.23.so\"]\n"))
        #expect(maps.contains(" MEM_PRIVATE MEM_COMMIT  PAGE_READWRITE                     Stack      [~0; 518.518]\n"))
        let libc = try Fixtures.run("rust-minidump/linux-mini.dmp", "!address 7f514015d100")
        #expect(libc.hasPrefix("Usage:                  Image\nBase Address:           00007f51`4015d000\n"))
        #expect(libc.contains("More info:              lmv m libc_2_23\n"))
        let elf = try Fixtures.run("lldb/elf-core/linux-x86_64.core", "!address")
        #expect(elf.split(separator: "\n").filter { $0.hasPrefix("+") }.count == 5)
    }

    @Test func tebAndPeb() throws {
        let teb = try Fixtures.run("rust-minidump/stability-report.dmp", "!teb")
        #expect(teb.contains("    ClientId:             0000000000003b6c . 0000000000003124\n"))
        #expect(teb.contains("    PEB Address:          000000260b2b4000\n"))
        let peb = try Fixtures.run("rust-minidump/stability-report.dmp", "!peb")
        #expect(peb.contains("    ImageBaseAddress:         00007ff612450000\n"))
        #expect(peb.contains("    ImageFile:    'C:\\Users\\tim\\.cache\\29.1.5-x64\\electron.exe'\n"))
        #expect(try Fixtures.run(md2, "!teb").hasSuffix("error InitTypeRead( TEB ): the TEB's memory at 7ffdf000 is not in this dump\n"))
        #expect(try Fixtures.run("lldb/elf-core/linux-x86_64.core", "!teb") == "!teb: this is a Linux dump; only Windows threads have a TEB\n")
    }

    @Test func handles() throws {
        // INDEX.md: HandleData(147) and HandleData(302).
        let list = try Fixtures.run("breakpad/tiny-exe-with-cet-xsave.dmp", "!handle")
        #expect(list.contains("\n147 Handles\nType           \tCount\n"))
        #expect(list.split(separator: "\n").filter { $0.hasPrefix("Handle ") }.count == 147)
        #expect(try Fixtures.run("rust-minidump/stability-report.dmp", "!handle").contains("\n302 Handles\n"))
        let one = try Fixtures.run("breakpad/tiny-exe-with-cet-xsave.dmp", "!handle 4")
        #expect(one.hasPrefix("Handle 4\n  Type         \tFile\n  Attributes   \t0\n  GrantedAccess\t0x12019f\n"))
        #expect(try Fixtures.run(md2, "!handle") == "Handle information is not available: this dump has no HandleDataStream\n")
    }

    @Test func targetDescription() throws {
        let v = try Fixtures.run(md2, "vertarget")
        #expect(v.hasPrefix("Windows XP Version 2600 (Service Pack 2) UP Free x86 compatible\nProduct: WinNt\n"))
        #expect(v.contains("Debug session time: Wed Feb 14 19:13:55.000 2007 (UTC + 0:00)\n"))
        #expect(try Fixtures.run(md2, "||").hasPrefix(".  0 User mini dump: "))
        #expect(try Fixtures.run(md2, "|") == ".  0\tid: f5c\texamine\tname: c:\\test_app.exe\n")
    }

    @Test func errorsKeepTheSessionGoing() throws {
        let (text, session) = Fixtures.run(try Fixtures.open(md2), ["foo", "!dumpheap -stat", "db", "r eip"])
        #expect(text == """
               ^ Syntax error in 'foo'
        No export dumpheap found (an SOS command: .loadby sos clr loads SOS)
        No address given
        eip=7c90eb94

        """)
        #expect(session.failures == 3)
    }

    @Test func helpListsAndExplains() throws {
        let all = try Fixtures.run(md2, ".help")
        for name in ["db", "lm", "~", "!address", ".exr", "$$>a<", "u"] { #expect(all.contains(name)) }
        #expect(try Fixtures.run(md2, ".help db").contains("Example: db @rsp L40"))
        #expect(try Fixtures.run(md2, ".help nothing") == "No help for 'nothing': no such command (.help lists them)\n")
    }
}
