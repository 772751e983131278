import DumpModel
import Native

/// The runtime globals the resolver starts from, named by what they are rather than by how one build
/// spells them. Each runtime build's layout table says where each is found.
public enum ClrGlobal: String, Sendable, CaseIterable {
    case threadStore, freeObjectMethodTable, stringMethodTable, objectMethodTable, exceptionMethodTable
    case finalizerThread, generationTable, ephemeralHeapSegment, allocAllocated, maxGeneration, gcHeapType
    case appDomain, flatImageLayoutVTable
    /// The stub a method's precode calls until the method is compiled (a code address).
    case thePreStub
}

/// How a runtime build's globals are found.
public enum ClrGlobalsLocation: Sendable {
    /// By name in libcoreclr.so's ELF symbol table (the file found on the image path); address = module base
    /// + st_value. The names are the build's mangled C++ names.
    case elfSymbols([ClrGlobal: String])
    /// Through the runtime's own table of its globals for the DAC, `g_dacTable`, which the build exports.
    case dacTable(ClrDacTableLayout)
}

/// Where a build's DAC table is and what its entries mean.
public struct ClrDacTableLayout: Sendable {
    /// The exported symbol (`.dynsym`) that holds the table.
    public let symbol: String
    /// Entries that hold the address of a global variable (8.0: absolute 8-byte addresses).
    public let variables: [ClrGlobal: Int]
    /// Entries that hold an address themselves rather than a variable's: a vtable's address point (compared
    /// with an object's first word) or a function's code.
    public let addresses: [ClrGlobal: Int]
    /// The entry of `g_gcDacGlobals` (GcDacVars*), and the GcDacVars fields that hold the addresses of the
    /// GC's globals (for arrays, the array itself).
    public let gcDacGlobals: Int
    public let gcFields: [ClrGlobal: UInt64]
    /// GcDacVars' major version this layout was read from (checked before any field is trusted).
    public let gcDacVarsMajorVersion: UInt8
}

/// The addresses of a runtime's globals in the target, whatever way the build makes them findable.
public protocol ClrGlobalsSource: Sendable {
    /// Where the globals came from, said once to the user (`.loadby`, `!eeversion`).
    var provenance: String { get }
    /// The address of the global itself (not the value stored there); nil when this build does not have it.
    func address(of global: ClrGlobal) -> UInt64?
}

/// Globals through `g_dacTable`: the table's address from the runtime file's exported symbols, its
/// entries from the dump (the table is filled at start-up).
struct DacTableGlobals: ClrGlobalsSource {
    let symbols: ElfSymbolFile
    let layout: ClrDacTableLayout
    let base: UInt64
    let read: @Sendable (UInt64) -> UInt64?

    var provenance: String { "the runtime's DAC table (\(layout.symbol), exported by \(symbols.path))" }

    private func entry(_ index: Int) -> UInt64? {
        guard let table = symbols.symbols[layout.symbol] else { return nil }
        return read(base &+ table.value &+ UInt64(index) &* 8)
    }

    func address(of global: ClrGlobal) -> UInt64? {
        if let i = layout.variables[global] ?? layout.addresses[global] { return entry(i).flatMap { $0 == 0 ? nil : $0 } }
        guard let field = layout.gcFields[global], let slot = entry(layout.gcDacGlobals),
              let vars = read(slot), vars != 0, gcDacVarsVersion(vars) == layout.gcDacVarsMajorVersion,
              let a = read(vars &+ field), a != 0 else { return nil }
        return a
    }

    private func gcDacVarsVersion(_ vars: UInt64) -> UInt8? { read(vars).map { UInt8(truncatingIfNeeded: $0) } }
}

/// Globals from the ELF symbol table of the runtime's own file.
struct ElfSymbolGlobals: ClrGlobalsSource {
    let symbols: ElfSymbolFile
    let names: [ClrGlobal: String]
    let base: UInt64

    var provenance: String { "symbol table of \(symbols.path)" }

    func address(of global: ClrGlobal) -> UInt64? {
        guard let name = names[global], let s = symbols.symbols[name] else { return nil }
        return base &+ s.value
    }
}
