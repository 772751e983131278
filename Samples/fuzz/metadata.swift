// Fuzz target: a PE image's bytes: headers, the CLI header, metadata tables, heaps and signatures, method bodies.
import Metadata

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMetadata(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    for layout in [ImageLayout.file, .loaded] {
        guard let image = try? PEImage(source: ByteArraySource(bytes), layout: layout),
              let reader = try? MetadataReader(image: image) else { continue }
        let types = min(reader.rowCount(.typeDef), 2000)
        if types > 0 {
            for row in 1...types {
                _ = try? reader.fullName(ofTypeDef: row)
                for m in (try? reader.methods(ofTypeDef: row)) ?? [] {
                    _ = try? reader.methodInfo(m.token)
                    // The method's IL: its header, exception sections, instructions and their text (!DumpIL).
                    guard m.rva != 0, let body = try? ILMethodBody(read: { offset, count in
                        guard let o = try? image.offset(ofRVA: m.rva &+ UInt32(offset), size: UInt32(count)) else { return nil }
                        return try? image.source.readBytes(at: o, count: count)
                    }) else { continue }
                    _ = reader.ilText(body)
                }
            }
        }
        let fields = min(reader.rowCount(.field), 2000)
        if fields > 0 { for row in 1...fields { _ = try? reader.fieldInfo(MetadataToken(.field, row: row)) } }
    }
    return 0
}
