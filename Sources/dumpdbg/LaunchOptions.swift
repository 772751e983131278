/// What dumpdbg's command line asks for: the fields of `DumpDbg`, apart from the parser that read them.
struct LaunchOptions: Equatable, Sendable {
    var dumpOption: String?
    var dumpArgument: String?
    var commands: String?
    var commandFile: String?
    var imagePath: String?
    var symbolPath: String?
    var transcript: String?
    var check: String?
    var noBanner = false
    var json = false
    var referenceFolder: String?
}

extension LaunchOptions {
    /// The command line as swift-argument-parser reads it, when it is one of the plain forms a script or a batch
    /// run writes: a dump, each known option at most once with a value that does not start with `-`, the two
    /// flags. Anything else (help, `--version`, `--name=value`, a repeated or unknown option, a second dump,
    /// an empty word, `--write-command-reference`) is nil, and swift-argument-parser reads it, errors and all.
    /// Swift-argument-parser finds a command's options by reflection, which is most of dumpdbg's start-up.
    static func quick(_ arguments: [String]) -> LaunchOptions? {
        var o = LaunchOptions()
        var i = 0
        // A switch, not a table of key paths: a key path is instantiated from its mangled name at run time.
        func value(_ field: inout String?) -> Bool {
            guard field == nil, i < arguments.count, !arguments[i].isEmpty, !arguments[i].hasPrefix("-") else { return false }
            field = arguments[i]
            i += 1
            return true
        }
        func flag(_ field: inout Bool) -> Bool {
            defer { field = true }
            return !field
        }
        while i < arguments.count {
            let word = arguments[i]
            i += 1
            let ok: Bool
            switch word {
            case "-z": ok = value(&o.dumpOption)
            case "-c": ok = value(&o.commands)
            case "-cf": ok = value(&o.commandFile)
            case "-i": ok = value(&o.imagePath)
            case "-y": ok = value(&o.symbolPath)
            case "--transcript": ok = value(&o.transcript)
            case "--check": ok = value(&o.check)
            case "--no-banner": ok = flag(&o.noBanner)
            case "--json": ok = flag(&o.json)
            default:
                ok = !word.isEmpty && !word.hasPrefix("-") && word != "help" && o.dumpArgument == nil
                if ok { o.dumpArgument = word }
            }
            guard ok else { return nil }
        }
        return (o.dumpOption ?? o.dumpArgument) == nil ? nil : o
    }
}
