import Foundation
import Native

/// `.sympath [path]`, `.sympath+ path`: shows or sets where Breakpad symbol files are looked for.
struct SymbolPathCommand: DebuggerCommand {
    let names = [".sympath"]
    let summary = "show or set the symbol search path (Breakpad .sym files)"
    let help = """
    .sympath              shows the symbol path
    .sympath PATH[;PATH]  replaces it;  .sympath+ PATH  appends
    Each folder is a Breakpad symbol store: FOLDER/debug-file/debug-id/name.sym, as dump_syms and symupload
    lay them out (test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym); a name.sym directly in the
    folder is used when its MODULE line has the module's debug id. srv*CACHE*URL and cache*FOLDER entries
    use their local folder; servers are never contacted. -y on the command line and _NT_SYMBOL_PATH set it too.
    ELF modules also find their separate debug files there by build id (FOLDER/.build-id/ab/cdef.debug, as
    /usr/lib/debug and debuginfod's cache lay them out; both are searched too, unless DUMPDBG_NO_SYSTEM_DEBUG=1):
    the names and source lines a stripped library lacks.
    A symbol file gives k, ln, x, u and !analyze function names, source lines ([file @ line]), inlined calls,
    and unwind rules (STACK CFI; STACK WIN for x86 code without frame pointers). lmv says which file each
    module uses, or why none.
    Example: .sympath+ /srv/symbols
    """

    func run(_ inv: Invocation, in s: Session) throws {
        let (append, args) = inv.pathArguments
        if !args.isEmpty {
            s.symbolPath = SymbolPath(append && !s.symbolPath.text.isEmpty ? s.symbolPath.text + ";" + args : args)
        }
        s.output.line("Symbol search path is: " + (s.symbolPath.text.isEmpty ? "<empty>" : s.symbolPath.text))
        s.output.line("Expanded Symbol search path is: " + s.symbolPath.folders.joined(separator: ";"))
        if !s.symbolPath.ignored.isEmpty {
            s.output.line("Not searched (no local folder; dumpdbg never downloads): " + s.symbolPath.ignored.joined(separator: ";"))
        }
        for f in s.symbolPath.folders {
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: f, isDirectory: &isDir) || !isDir.boolValue {
                s.output.line("WARNING: \(f) is not a folder")
            }
        }
    }
}

/// `.reload`: forgets the symbol and image files read so far, so files added to the paths since are found.
struct ReloadCommand: DebuggerCommand {
    let names = [".reload"]
    let summary = "read the modules' symbol and image files again"
    let help = """
    .reload [/f] [module]   forgets what was read from the image path and the symbol path; each module's files
                  are looked for again when next needed (/f and a module name are accepted: every module reloads).
    Example: .reload /f
    """

    func run(_ inv: Invocation, in s: Session) throws {
        s.nativeModulesCache = nil
        s.output.line("Reloading current modules")
    }
}

extension Invocation {
    /// A path command's arguments (`.exepath`, `.sympath`): the `+` of `.exepath+ DIR` (the splitter leaves it in
    /// the arguments) says append, then the `;`-separated list.
    var pathArguments: (append: Bool, list: String) {
        let text = arguments.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("+") else { return (false, text) }
        return (true, String(text.dropFirst()).trimmingCharacters(in: .whitespaces))
    }
}
