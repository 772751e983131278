import DumpModel

/// Names an address the way WinDbg does without symbol files: `module+0xoffset`, or `module` at its base.
/// Symbol sources (exports, ELF symtab, PDB) refine this later; without them this is what WinDbg prints too.
public struct AddressNamer: Sendable {
    private let modules: [DumpModule]
    /// Each module's WinDbg name and file name, lowercased, computed once: a MASM expression looks names up for
    /// every symbol it meets, and a dump may hold hundreds of modules.
    private let lowercasedNames: [(module: String, file: String)]

    public init(dump: any Dump) {
        modules = dump.modules.sorted { $0.base < $1.base }
        lowercasedNames = modules.map { ($0.moduleName.lowercased(), $0.fileName.lowercased()) }
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
        if let i = lowercasedNames.firstIndex(where: { $0.module == n }) ?? lowercasedNames.firstIndex(where: { $0.file == n }) {
            return modules[i]
        }
        return nil
    }
}
