import DumpModel
import Native

/// The runtime globals the resolver starts from, named by what they are rather than by how one build
/// spells them. Each runtime build's layout table says where each is found.
public enum ClrGlobal: String, Sendable, CaseIterable {
    case threadStore, freeObjectMethodTable, stringMethodTable, objectMethodTable, exceptionMethodTable
    case finalizerThread, generationTable, ephemeralHeapSegment, allocAllocated, maxGeneration, gcHeapType
    case appDomain, flatImageLayoutVTable
}

/// How a runtime build's globals are found.
public enum ClrGlobalsLocation: Sendable {
    /// By name in libcoreclr.so's ELF symbol table (the file found on the image path); address = module base
    /// + st_value. The names are the build's mangled C++ names.
    case elfSymbols([ClrGlobal: String])
}

/// The addresses of a runtime's globals in the target, whatever way the build makes them findable.
public protocol ClrGlobalsSource: Sendable {
    /// Where the globals came from, said once to the user (`.loadby`, `!eeversion`).
    var provenance: String { get }
    /// The address of the global itself (not the value stored there); nil when this build does not have it.
    func address(of global: ClrGlobal) -> UInt64?
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
