import DumpModel
import Native
import Testing

/// x64 operands in WinDbg's spelling (Capstone's MASM syntax, respelled): no spaces inside brackets, negative
/// immediates as the unsigned value of their size, numbers below 10 in decimal, others as `0FFh`-style hex.
@Suite("Disassembly in WinDbg's operand style")
struct DisassemblerTests {
    @Test(arguments: [
        ([0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff], "cmp", "rax,0FFFFFFFFFFFFF000h"),
        ([0x48, 0x83, 0xc4, 0x80], "add", "rsp,0FFFFFFFFFFFFFF80h"),
        ([0x83, 0xf8, 0xff], "cmp", "eax,0FFFFFFFFh"),
        ([0x80, 0x7d, 0xf0, 0xff], "cmp", "byte ptr [rbp-10h],0FFh"),
        ([0x66, 0x83, 0xf8, 0xfe], "cmp", "ax,0FFFEh"),
        ([0x48, 0x8b, 0x44, 0x24, 0x10], "mov", "rax,qword ptr [rsp+10h]"),
        ([0x8b, 0x45, 0xf8], "mov", "eax,dword ptr [rbp-8]"),
        ([0x48, 0x8d, 0x04, 0xc8], "lea", "rax,[rax+rcx*8]"),
        ([0x48, 0x8d, 0x44, 0xc8, 0x28], "lea", "rax,[rax+rcx*8+28h]"),
        ([0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00], "mov", "rax,qword ptr fs:[28h]"),
        ([0x48, 0x83, 0xec, 0x28], "sub", "rsp,28h"),
        ([0xb8, 0x01, 0x00, 0x00, 0x00], "mov", "eax,1"),
        ([0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff], "mov", "rax,0FFFFFFFFFFFFFFFFh"),
    ] as [([UInt8], String, String)])
    func operands(_ bytes: [UInt8], _ mnemonic: String, _ operands: String) throws {
        let d = try #require(Disassembler(architecture: .amd64))
        let i = try #require(d.decode(bytes, at: 0x1000))
        #expect(i.mnemonic == mnemonic)
        #expect(i.operands == operands, "\(bytes)")
    }

    @Test func ripRelativeOperandsStillNameTheirTarget() throws {
        let d = try #require(Disassembler(architecture: .amd64))
        // lea rax,[rip+10h] at 0x1000 (7 bytes): the target is 0x1017.
        let i = try #require(d.decode([0x48, 0x8d, 0x05, 0x10, 0x00, 0x00, 0x00], at: 0x1000))
        let line = Disassembler.line(i, address: "1000", format: { String($0, radix: 16) }, name: { $0 == 0x1017 ? "m!x" : nil })
        #expect(line.hasSuffix("lea     rax,[m!x (1017)]"), "\(line)")
    }
}

@Suite("`.` is the current address", .enabled(if: Fixtures.available, Fixtures.absent))
struct CurrentAddressTests {
    @Test func dotIsTheInstructionPointerInExpressionsAndU() throws {
        let out = try Fixtures.run("lldb/Shell-Minidump-Windows-Sigsegv/sigsegv.dmp", ".ecxr", "? .", "? $ip", "? .+1", "u . L1", "u $ip L1")
        let evals = out.split(separator: "\n").filter { $0.hasPrefix("Evaluate expression: ") }
        #expect(evals.count == 3 && evals[0] == evals[1], "\(out)")
        let listings = out.components(separatedBy: "\n").filter { $0.contains("`") && !$0.hasPrefix("Evaluate") }
        #expect(listings.count >= 2 && listings[listings.count - 1] == listings[listings.count - 2], "\(out)")
        #expect(try Fixtures.run("lldb/Shell-Minidump-Windows-Sigsegv/sigsegv.dmp", "? .x").contains("Couldn't resolve error"))
    }
}

@Suite("!error names status codes", .enabled(if: Fixtures.available, Fixtures.absent))
struct ErrorCommandTests {
    @Test func win32NtStatusAndHResult() throws {
        let out = try Fixtures.run("breakpad/minidump2.dmp", "!error c0000135", "!error 2", "!error 80070005", "!error 80004003",
                                   "!error 5 1", "!error e0434352", "!error c0000005", "!error 12345678", "!error")
        #expect(out == """
            Error code: (NTSTATUS) 0xc0000135 (3221225781) - STATUS_DLL_NOT_FOUND
            Error code: (Win32) 0x2 (2) - ERROR_FILE_NOT_FOUND
            Error code: (HRESULT) 0x80070005 (2147942405) - ERROR_ACCESS_DENIED
            Error code: (HRESULT) 0x80004003 (2147500035) - E_POINTER
            Error code: (NTSTATUS) 0x5 (5) - <Unable to get error code text>
            Error code: (NTSTATUS) 0xe0434352 (3762504530) - CLR exception
            Error code: (NTSTATUS) 0xc0000005 (3221225477) - The instruction at 0x%p referenced memory at 0x%p. The memory could not be %s.
            Error code: (HRESULT) 0x12345678 (305419896) - <Unable to get error code text>
            Usage: !error VALUE [FLAGS]

            """, "\(out)")
    }
}
