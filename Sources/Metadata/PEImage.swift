// PE/COFF headers, just enough to find the CLI header and the metadata of a .NET assembly.
// Layout references: the PE/COFF specification and ECMA-335 Partition II §25.

/// How the image's bytes are arranged in the byte source.
public enum ImageLayout: Sendable, Equatable {
    /// As stored on disk: each section sits at its PointerToRawData.
    case file
    /// As mapped by a loader (what a dump holds): offset == RVA.
    case loaded
}

/// One entry of the optional header's data directory.
public struct DataDirectory: Sendable, Equatable {
    public let rva: UInt32
    public let size: UInt32
    public var isEmpty: Bool { rva == 0 || size == 0 }
}

/// One entry of the section table.
public struct Section: Sendable, Equatable {
    public let name: String
    public let virtualSize: UInt32
    public let virtualAddress: UInt32
    public let sizeOfRawData: UInt32
    public let pointerToRawData: UInt32
    public let characteristics: UInt32
}

/// The CLI header (data directory 14), ECMA-335 II.25.3.3.
public struct CLIHeader: Sendable, Equatable {
    public let majorRuntimeVersion: UInt16
    public let minorRuntimeVersion: UInt16
    public let metadata: DataDirectory
    public let flags: UInt32
    /// A MethodDef/File token, or an RVA when flags has COMIMAGE_FLAGS_NATIVE_ENTRYPOINT.
    public let entryPointToken: UInt32
    public let resources: DataDirectory
    public let strongNameSignature: DataDirectory
}

/// A parsed PE image. Immutable; reading the headers happens once in `init`.
public struct PEImage: Sendable {
    public static let imageDirectoryEntryCOMDescriptor = 14

    public let source: any ByteSource
    public let layout: ImageLayout

    public let machine: UInt16
    public let timeDateStamp: UInt32
    public let characteristics: UInt16
    /// True for PE32+ (64-bit optional header).
    public let isPE32Plus: Bool
    public let imageBase: UInt64
    public let sizeOfImage: UInt32
    public let sizeOfHeaders: UInt32
    public let dataDirectories: [DataDirectory]
    public let sections: [Section]

    // Limits that keep hostile headers from causing huge loops or allocations.
    static let maxSections = 96          // the PE loader's own limit
    static let maxDataDirectories = 16

    public init(source: any ByteSource, layout: ImageLayout = .file) throws(MetadataError) {
        self.source = source
        self.layout = layout

        guard try source.readU16(at: 0) == 0x5A4D else {
            throw MetadataError(.badFormat, "not a PE image: no 'MZ' DOS signature")
        }
        let lfanew = Int(try source.readU32(at: 0x3C))
        guard lfanew >= 0x40, lfanew < 0x1000_0000 else {
            throw MetadataError(.badFormat, "DOS header e_lfanew 0x\(String(lfanew, radix: 16)) is not plausible")
        }
        guard try source.readU32(at: lfanew) == 0x0000_4550 else {
            throw MetadataError(.badFormat, "no 'PE\\0\\0' signature at 0x\(String(lfanew, radix: 16))")
        }
        let coff = lfanew + 4
        machine = try source.readU16(at: coff)
        let numberOfSections = Int(try source.readU16(at: coff + 2))
        timeDateStamp = try source.readU32(at: coff + 4)
        let sizeOfOptionalHeader = Int(try source.readU16(at: coff + 16))
        characteristics = try source.readU16(at: coff + 18)
        guard numberOfSections <= Self.maxSections else {
            throw MetadataError(.badFormat, "COFF header claims \(numberOfSections) sections (limit \(Self.maxSections))")
        }

        let opt = coff + 20
        let magic = try source.readU16(at: opt)
        let directoriesAt: Int
        let directoryCountAt: Int
        switch magic {
        case 0x10B:
            isPE32Plus = false
            imageBase = UInt64(try source.readU32(at: opt + 28))
            directoryCountAt = opt + 92
            directoriesAt = opt + 96
        case 0x20B:
            isPE32Plus = true
            imageBase = try source.readU64(at: opt + 24)
            directoryCountAt = opt + 108
            directoriesAt = opt + 112
        default:
            throw MetadataError(.badFormat, "optional header magic 0x\(String(magic, radix: 16)) is neither PE32 nor PE32+")
        }
        sizeOfImage = try source.readU32(at: opt + 56)
        sizeOfHeaders = try source.readU32(at: opt + 60)

        // Only directories that fit in the declared optional header count.
        let declared = Int(try source.readU32(at: directoryCountAt))
        let fitting = Swift.max(0, (opt + sizeOfOptionalHeader - directoriesAt) / 8)
        let directoryCount = Swift.min(declared, fitting, Self.maxDataDirectories)
        var dirs: [DataDirectory] = []
        for i in 0..<directoryCount {
            let at = directoriesAt + i * 8
            dirs.append(DataDirectory(rva: try source.readU32(at: at), size: try source.readU32(at: at + 4)))
        }
        dataDirectories = dirs

        var secs: [Section] = []
        let table = opt + sizeOfOptionalHeader
        for i in 0..<numberOfSections {
            let at = table + i * 40
            let rawName = try source.readBytes(at: at, count: 8)
            let name = String(decoding: rawName.prefix { $0 != 0 }, as: UTF8.self)
            secs.append(Section(name: name,
                                virtualSize: try source.readU32(at: at + 8),
                                virtualAddress: try source.readU32(at: at + 12),
                                sizeOfRawData: try source.readU32(at: at + 16),
                                pointerToRawData: try source.readU32(at: at + 20),
                                characteristics: try source.readU32(at: at + 36)))
        }
        sections = secs
    }

    /// Convenience: map a file from disk (file layout).
    public init(path: String) throws(MetadataError) {
        try self.init(source: MappedFileSource(path: path), layout: .file)
    }

    public func dataDirectory(_ index: Int) -> DataDirectory? {
        index < dataDirectories.count ? dataDirectories[index] : nil
    }

    /// Where the bytes of `rva ..< rva+size` are in the source, or an error if they are in no
    /// section (file layout) or outside the image.
    public func offset(ofRVA rva: UInt32, size: UInt32 = 0) throws(MetadataError) -> Int {
        switch layout {
        case .loaded:
            let off = Int(rva)
            guard rangeIsInside(offset: off, length: Int(size), size: source.count) else {
                throw MetadataError.outOfBounds("RVA 0x\(String(rva, radix: 16))", offset: off, count: Int(size), size: source.count)
            }
            return off
        case .file:
            let r = UInt64(rva), n = UInt64(size)
            for s in sections {
                let start = UInt64(s.virtualAddress)
                // Only the raw (on-disk) part of a section exists in the file.
                let rawLength = UInt64(s.virtualSize == 0 ? s.sizeOfRawData : Swift.min(s.virtualSize, s.sizeOfRawData))
                if r >= start, r + n <= start + rawLength {
                    let off = Int(UInt64(s.pointerToRawData) + (r - start))
                    guard rangeIsInside(offset: off, length: Int(size), size: source.count) else {
                        throw MetadataError.outOfBounds("RVA 0x\(String(rva, radix: 16)) in section \(s.name)", offset: off, count: Int(size), size: source.count)
                    }
                    return off
                }
            }
            // The headers are mapped at RVA 0 with file offset 0.
            if r + n <= UInt64(sizeOfHeaders), rangeIsInside(offset: Int(rva), length: Int(size), size: source.count) {
                return Int(rva)
            }
            throw MetadataError(.badFormat, "RVA 0x\(String(rva, radix: 16)) (+\(size)) is in no section of the file")
        }
    }

    /// The CLI header, or an error if this is not a managed image.
    public func cliHeader() throws(MetadataError) -> CLIHeader {
        guard let dir = dataDirectory(Self.imageDirectoryEntryCOMDescriptor), !dir.isEmpty else {
            throw MetadataError(.badFormat, "not a .NET assembly: the CLI header directory (14) is empty")
        }
        let at = try offset(ofRVA: dir.rva, size: 72)
        let cb = try source.readU32(at: at)
        guard cb >= 72 else {
            throw MetadataError(.badFormat, "CLI header size \(cb) is smaller than 72")
        }
        func directory(_ o: Int) throws(MetadataError) -> DataDirectory {
            DataDirectory(rva: try source.readU32(at: at + o), size: try source.readU32(at: at + o + 4))
        }
        return CLIHeader(majorRuntimeVersion: try source.readU16(at: at + 4),
                         minorRuntimeVersion: try source.readU16(at: at + 6),
                         metadata: try directory(8),
                         flags: try source.readU32(at: at + 16),
                         entryPointToken: try source.readU32(at: at + 20),
                         resources: try directory(24),
                         strongNameSignature: try directory(32))
    }

    /// The bytes of the metadata root (ECMA-335 II.24.2.1) as their own window.
    public func metadataBytes() throws(MetadataError) -> ByteWindow {
        let cli = try cliHeader()
        guard !cli.metadata.isEmpty else {
            throw MetadataError(.badFormat, "CLI header has an empty metadata directory")
        }
        let at = try offset(ofRVA: cli.metadata.rva, size: cli.metadata.size)
        return try ByteWindow(source, start: at, count: Int(cli.metadata.size))
    }
}
