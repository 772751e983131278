// Metadata: ECMA-335 (CLI metadata) reading for dumpdbg.
//
// Layers, each usable on its own:
//   ByteSource        - bounds-checked bytes: [UInt8] (ByteArraySource), a mapped file
//                       (MappedFileSource), a window (ByteWindow), or a dump's memory (the dump
//                       layer conforms its own type).
//   PEImage           - PE/COFF headers, sections, RVA -> offset for the file or loaded layout,
//                       CLI header, where the metadata is.
//   MetadataReader    - metadata root, #~/#- tables, #Strings/#US/#Blob/#GUID heaps, decoded
//                       rows (Rows.swift), signatures (Signatures.swift), and names as SOS prints
//                       them (Names.swift).
//
// Everything read is untrusted: failures are MetadataError values, never traps, and every
// loop is bounded by the bytes available or a fixed limit.

extension MetadataReader {
    /// Open an assembly file from disk (mapped, file layout).
    public init(path: String) throws(MetadataError) {
        try self.init(image: PEImage(path: path))
    }
}
