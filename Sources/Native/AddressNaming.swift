import DumpModel
import Synchronization

/// Names an address the way WinDbg does without symbol files: `module+0xoffset`, or `module` at its base.
/// Symbol sources (exports, ELF symtab, PDB) refine this later; without them this is what WinDbg prints too.
public struct AddressNamer: Sendable {
    private let modules: [DumpModule]
    /// Each module's WinDbg name and file name, lowercased, computed once, when a name is first looked up: a
    /// MASM expression looks names up for every symbol it meets, and a dump may hold hundreds of modules; a
    /// session that never looks one up (a damaged dump's thousands of 4 K-character names) never pays for them.
    private let lowercasedNames: LowercasedNames

    public init(dump: any Dump) {
        modules = dump.modules.sorted { $0.base < $1.base }
        lowercasedNames = LowercasedNames()
    }

    public func module(containing address: UInt64) -> DumpModule? {
        guard let i = SortedSearch.lastIndex(modules.count, atOrBelow: address, { modules[$0].base }),
              modules[i].contains(address) else { return nil }
        return modules[i]
    }

    /// `chrome+0x6cc480`, `ntdll` (at the base), or nil outside every module.
    public func name(_ address: UInt64) -> String? {
        guard let m = module(containing: address) else { return nil }
        let off = address - m.base
        return off == 0 ? m.moduleName : "\(m.moduleName)+0x\(String(off, radix: 16))"
    }

    /// Module by WinDbg name (case-insensitive), for `lm m` and MASM expressions.
    public func module(named name: String) -> DumpModule? {
        let n = name.lowercased()
        let names = lowercasedNames.of(modules)
        if let i = names.firstIndex(where: { $0.module == n }) ?? names.firstIndex(where: { $0.file == n }) {
            return modules[i]
        }
        return nil
    }
}

/// The lowercased names of an `AddressNamer`'s modules, made on first use and shared by its copies.
private final class LowercasedNames: Sendable {
    private let names = Mutex<[(module: String, file: String)]?>(nil)

    func of(_ modules: [DumpModule]) -> [(module: String, file: String)] {
        names.withLock { names in
            if let names { return names }
            let made = modules.map { ($0.moduleName.lowercased(), $0.fileName.lowercased()) }
            names = made
            return made
        }
    }
}
