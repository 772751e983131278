import DumpModel

/// The resources of a PE image as it lies in the target's memory (a full-memory minidump holds the loaded
/// images): the resource directory's three levels, type → name → language, read with bounds on every step.
public struct PEImageResources: Sendable {
    let memory: AddressSpace
    let base: UInt64
    let root: UInt64

    /// Nil when the image has no resource directory the dump holds.
    public init?(memory: AddressSpace, base: UInt64) {
        // Resources are data directory 2.
        guard let pe = PEImageInMemory(memory: memory, base: base), let dir = pe.directory(2) else { return nil }
        self.memory = memory
        self.base = base
        root = base &+ UInt64(dir.rva)
    }

    /// A directory entry's key: a numeric id or a name.
    public enum Key: Equatable, Sendable {
        case id(UInt32)
        case name(String)
    }

    private func entries(_ directory: UInt64) -> [(Key, UInt32)] {
        guard let named = memory.readU16(directory &+ 12), let ids = memory.readU16(directory &+ 14) else { return [] }
        var out: [(Key, UInt32)] = []
        for i in 0..<min(Int(named) + Int(ids), 4096) {
            let e = directory &+ 16 &+ UInt64(i) * 8
            guard let nameField = memory.readU32(e), let offset = memory.readU32(e &+ 4) else { break }
            if nameField & 0x8000_0000 != 0 {
                let p = root &+ UInt64(nameField & 0x7FFF_FFFF)
                guard let length = memory.readU16(p), let bytes = memory.readExact(p &+ 2, count: Int(length) * 2) else { continue }
                out.append((.name(String(decodingUTF16LittleEndian: bytes)), offset))
            } else {
                out.append((.id(nameField), offset))
            }
        }
        return out
    }

    /// The first language's data of resource `name` of type `type`: its address in the target and its size.
    public func find(type: Key, name: Key) -> (address: UInt64, size: UInt32)? {
        guard let t = entries(root).first(where: { $0.0 == type }), t.1 & 0x8000_0000 != 0,
              let n = entries(root &+ UInt64(t.1 & 0x7FFF_FFFF)).first(where: { $0.0 == name }), n.1 & 0x8000_0000 != 0,
              let language = entries(root &+ UInt64(n.1 & 0x7FFF_FFFF)).first, language.1 & 0x8000_0000 == 0 else { return nil }
        let leaf = root &+ UInt64(language.1)
        guard let rva = memory.readU32(leaf), let size = memory.readU32(leaf &+ 4) else { return nil }
        return (base &+ UInt64(rva), size)
    }
}
