import DumpModel
import Testing

@Suite struct ModuleNameTests {
    private func module(_ path: String) -> DumpModule { DumpModule(base: 0x1000, size: 0x1000, path: path) }

    @Test func fileAndModuleNamesAsWinDbgDerivesThem() {
        let cases: [(path: String, file: String, module: String)] = [
            (#"C:\Windows\System32\ntdll.dll"#, "ntdll.dll", "ntdll"),
            ("/usr/lib/x86_64-linux-gnu/libc.so.6", "libc.so.6", "libc_so"),
            (#"C:\Program Files\dotnet\shared\System.Private.CoreLib.dll"#, "System.Private.CoreLib.dll", "System_Private_CoreLib"),
            ("/tmp/a-b c/app-with-dashes", "app-with-dashes", "app_with_dashes"),
            ("/lib/", "lib", "lib"),
            ("linux-vdso.so.1", "linux-vdso.so.1", "linux_vdso_so"),
            (".hidden", ".hidden", "_hidden"),
            ("/opt/Привет/модуль.so", "модуль.so", "модуль"),
            ("/opt/x/e\u{301}t\u{e9}-1.so", "e\u{301}t\u{e9}-1.so", "e\u{301}t\u{e9}_1"),
        ]
        for c in cases {
            #expect(module(c.path).fileName == c.file, "\(c.path)")
            #expect(module(c.path).moduleName == c.module, "\(c.path)")
        }
    }

    /// A damaged dump's module names run to the 4096-character cap, in any script; naming them stays cheap.
    @Test func longDamagedNamesKeepTheirLength() {
        let junk = String(repeating: "\u{e9}\u{301}\u{1F600}a.", count: 800)
        let name = module("/x/" + junk).moduleName
        #expect(name.unicodeScalars.count == junk.unicodeScalars.count - 1)
    }
}
