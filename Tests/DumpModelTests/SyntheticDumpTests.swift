import DumpModel
import Foundation
import Testing

/// Edge cases no real dump shows, built byte by byte.
struct SyntheticDumpTests {
    typealias B = MinidumpBuilder

    @Test func overlappingMemoryRangesFirstWins() throws {
        var b = MinidumpBuilder()
        b.add(7, B.systemInfoAMD64())
        // MemoryList with two overlapping ranges: [0x1000, 0x1010) = 0xAA.., [0x1008, 0x1018) = 0xBB..
        var list = B.le(UInt32(2))
        list += B.le(UInt64(0x1000)); list += B.le(UInt32(16)); list += B.le(UInt32(0))
        list += B.le(UInt64(0x1008)); list += B.le(UInt32(16)); list += B.le(UInt32(0))
        b.add(5, list)
        b.tail = [UInt8](repeating: 0xAA, count: 16) + [UInt8](repeating: 0xBB, count: 16)
        let bytes = b.build { out, rvas in
            let tailStart = UInt32(out.count - 32)
            let list = Int(rvas[1])
            out.replaceSubrange((list + 16)..<(list + 20), with: B.le(tailStart))
            out.replaceSubrange((list + 32)..<(list + 36), with: B.le(tailStart + 16))
        }
        let d = try DumpLoader.open(path: TempFiles.write(bytes, name: "overlap.dmp")).dump
        #expect(d.memory.readExact(0x1000, count: 16) == [UInt8](repeating: 0xAA, count: 16))
        #expect(d.memory.readExact(0x1010, count: 8) == [UInt8](repeating: 0xBB, count: 8))
        #expect(d.memory.readExact(0x1018, count: 1) == nil)
        let partial = d.memory.read(0x1014, count: 8)
        #expect(partial.prefix(4).allSatisfy { $0 == 0xBB } && partial.suffix(4).allSatisfy { $0 == nil })
    }

    @Test func rangePastEndOfFileReadsAsMissing() throws {
        var b = MinidumpBuilder()
        b.add(7, B.systemInfoAMD64())
        var list = B.le(UInt32(1))
        list += B.le(UInt64(0x5000)); list += B.le(UInt32(0x100)); list += B.le(UInt32(0))
        b.add(5, list)
        b.tail = [1, 2, 3, 4]
        let bytes = b.build { out, rvas in
            let list = Int(rvas[1])
            out.replaceSubrange((list + 16)..<(list + 20), with: B.le(UInt32(out.count - 4)))
        }
        let d = try DumpLoader.open(path: TempFiles.write(bytes, name: "pastend.dmp")).dump
        #expect(d.memory.readExact(0x5000, count: 4) == [1, 2, 3, 4])
        #expect(d.memory.readExact(0x5000, count: 5) == nil)
        #expect(d.warnings.contains { $0.contains("past the end") })
    }

    @Test func hugeCountsAreClampedToTheStream() throws {
        var b = MinidumpBuilder()
        b.add(7, B.systemInfoAMD64())
        b.add(3, B.le(UInt32.max))  // ThreadList claiming 4 billion threads, holding none
        b.add(4, B.le(UInt32.max))  // ModuleList likewise
        b.add(9, B.le(UInt64.max) + B.le(UInt64(0)))  // Memory64List likewise
        let d = try DumpLoader.open(path: TempFiles.write(b.build(), name: "huge.dmp")).dump
        #expect(d.threads.isEmpty)
        #expect(d.modules.isEmpty)
        #expect(d.warnings.contains { $0.contains("ThreadListStream holds 0 of the 4294967295") })
    }

    /// Found by the mutation hunt on the Windows minidump: overlapping Memory64List ranges whose data RVA lies
    /// near the top of the 64-bit range trapped when the overlap was clipped.
    @Test func overlappingRangesWithAnRVANearTheTopDoNotTrap() throws {
        var b = MinidumpBuilder()
        b.add(7, B.systemInfoAMD64())
        // Two ranges, [0x1000, 0x3000) then [0x2000, 0x5000), their data 0x3000 bytes below 2^64: clipping the
        // overlap moves the second one's offset past the top.
        b.add(9, B.le(UInt64(2)) + B.le(UInt64.max - 0x2FFF) + B.le(UInt64(0x1000)) + B.le(UInt64(0x2000))
              + B.le(UInt64(0x2000)) + B.le(UInt64(0x3000)))
        let d = try DumpLoader.open(path: TempFiles.write(b.build(), name: "rva-top.dmp")).dump
        #expect(d.memory.readExact(0x1000, count: 1) == nil)
        #expect(d.memory.read(0x2800, count: 4) == [nil, nil, nil, nil])
    }

    /// Found by the dump fuzz target: module names whose MINIDUMP_STRING length was damaged to 64 KiB made
    /// `lm` take seconds. Names are held to 4096 characters.
    @Test func hugeNameLengthsAreCapped() throws {
        var b = MinidumpBuilder()
        b.add(7, B.systemInfoAMD64())
        // ModuleList: one module whose name claims 1 MiB of text; the name itself is 20 KB of 'a'.
        var module = B.le(UInt32(1)) + B.le(UInt64(0x40_0000)) + B.le(UInt32(0x1000)) + B.le(UInt32(0)) + B.le(UInt32(0))
        module += B.le(UInt32(0))  // name RVA, fixed up below
        module += [UInt8](repeating: 0, count: 108 - 24)
        b.add(4, module)
        let name = B.le(UInt32(1 << 20)) + [UInt8](repeating: 0x61, count: 20_000).flatMap { [$0, 0] }
        b.add(0xFFFF, name)  // an unknown stream type holding the string
        let bytes = b.build { out, rvas in
            let moduleList = Int(rvas[1])
            out.replaceSubrange((moduleList + 4 + 20)..<(moduleList + 4 + 24), with: B.le(rvas[2]))
        }
        let d = try DumpLoader.open(path: TempFiles.write(bytes, name: "hugename.dmp")).dump
        #expect(d.modules.first?.path.count == 4096)
    }

    @Test func directoryPastEndIsAnError() throws {
        var b = MinidumpBuilder()
        b.add(7, B.systemInfoAMD64())
        var bytes = b.build()
        bytes.replaceSubrange(12..<16, with: B.le(UInt32(0x7FFF_0000)))
        let path = TempFiles.write(bytes, name: "baddir.dmp")
        #expect(throws: DumpError.self) { try DumpLoader.open(path: path) }
        do { _ = try DumpLoader.open(path: path) } catch {
            #expect(error.description.hasPrefix(path + ": "), "the error names the file")
            #expect(error.description.contains("directory"))
        }
    }

    @Test func threadContextAndExceptionFromSyntheticStreams() throws {
        var b = MinidumpBuilder()
        b.add(7, B.systemInfoAMD64())
        let ctx = B.contextAMD64(rip: 0x7FF6_0000_1234, rsp: 0x1000)
        // ThreadList: one thread, context at an RVA fixed up below.
        var thread = B.le(UInt32(1))
        thread += B.le(UInt32(0x44)); thread += B.le(UInt32(0)); thread += B.le(UInt32(0)); thread += B.le(UInt32(0))
        thread += B.le(UInt64(0x7000)); thread += B.le(UInt64(0)); thread += B.le(UInt32(0)); thread += B.le(UInt32(0))
        thread += B.le(UInt32(ctx.count)); thread += B.le(UInt32(0))
        b.add(3, thread)
        var exc = B.le(UInt32(0x44))
        exc += B.le(UInt32(0)); exc += B.le(UInt32(0xC000_0005)); exc += B.le(UInt32(0)); exc += B.le(UInt64(0))
        exc += B.le(UInt64(0x7FF6_0000_1234)); exc += B.le(UInt32(2)); exc += B.le(UInt32(0)); exc += B.le(UInt64(1))
        exc += B.le(UInt64(0xDEAD)); exc += [UInt8](repeating: 0, count: 13 * 8)
        exc += B.le(UInt32(ctx.count)); exc += B.le(UInt32(0))
        b.add(6, exc)
        b.tail = ctx
        let bytes = b.build { out, rvas in
            let ctxRva = UInt32(out.count - ctx.count)
            // ThreadList: count (4), then the context's RVA at +44 of the 48-byte entry.
            out.replaceSubrange(Int(rvas[1]) + 48..<Int(rvas[1]) + 52, with: B.le(ctxRva))
            out.replaceSubrange(Int(rvas[2]) + 164..<Int(rvas[2]) + 168, with: B.le(ctxRva))
        }
        let d = try DumpLoader.open(path: TempFiles.write(bytes, name: "ctx.dmp")).dump
        #expect(d.threads.count == 1)
        #expect(d.threads[0].id == 0x44)
        #expect(d.threads[0].teb == 0x7000)
        #expect(d.threads[0].context?["rip"] == 0x7FF6_0000_1234)
        #expect(d.exception?.parameters == [1, 0xDEAD])
        #expect(d.exception?.context?.stackPointer == 0x1000)
    }

    @Test func elfSegmentsWithoutFileBytesReadAsMissing() throws {
        var b = ElfCoreBuilder()
        b.notes.append(("CORE", 1, ElfCoreBuilder.prstatus(pid: 42, signal: 11, rip: 0x401000, rsp: 0x7FF0)))
        b.segments.append(.init(vaddr: 0x400000, data: [0x90, 0x90], memsz: 0x1000))
        b.segments.append(.init(vaddr: 0x600000, data: [], memsz: 0x1000))
        let d = try DumpLoader.open(path: TempFiles.write(b.build(), name: "segs.core")).dump
        #expect(d.threads.map(\.id) == [42])
        #expect(d.threads[0].context?.instructionPointer == 0x401000)
        #expect(d.exception?.code == 11)
        #expect(d.memory.readExact(0x400000, count: 2) == [0x90, 0x90])
        #expect(d.memory.readExact(0x400002, count: 1) == nil, "bytes past p_filesz are not in the core")
        #expect(d.memory.readExact(0x600000, count: 1) == nil)
    }

    @Test func elfNoteWithHugeSizeStopsCleanly() throws {
        var b = ElfCoreBuilder()
        b.notes.append(("CORE", 1, ElfCoreBuilder.prstatus(pid: 7, signal: 6, rip: 1, rsp: 2)))
        var bytes = b.build()
        // Make the note's descsz enormous.
        bytes.replaceSubrange((64 + 56 + 4)..<(64 + 56 + 8), with: ElfCoreBuilder.le(UInt32.max))
        let d = try DumpLoader.open(path: TempFiles.write(bytes, name: "hugenote.core")).dump
        // What the note holds is used; that it claims more is reported.
        #expect(d.threads.map(\.id) == [7])
        #expect(d.warnings.contains { $0.contains("cut short") })
    }

    /// Found by MutationTests: an NT_FILE mapping whose end lies below its start once made the module size
    /// underflow and trap.
    @Test func ntFileEntryEndingBeforeItStartsIsIgnored() throws {
        var b = ElfCoreBuilder()
        b.notes.append(("CORE", 1, ElfCoreBuilder.prstatus(pid: 9, signal: 11, rip: 1, rsp: 2)))
        var file = ElfCoreBuilder.le(UInt64(2))  // two entries, 4 KiB pages
        file += ElfCoreBuilder.le(UInt64(4096))
        file += ElfCoreBuilder.le(UInt64(0x20_0000)); file += ElfCoreBuilder.le(UInt64(0x10_0000)); file += ElfCoreBuilder.le(UInt64(0))
        file += ElfCoreBuilder.le(UInt64(0x40_0000)); file += ElfCoreBuilder.le(UInt64(0x40_1000)); file += ElfCoreBuilder.le(UInt64(0))
        file += Array("/bad\0/good\0".utf8)
        b.notes.append(("CORE", 0x4649_4C45, file))
        let d = try DumpLoader.open(path: TempFiles.write(b.build(), name: "ntfile.core")).dump
        #expect(d.modules.map(\.path) == ["/good"])
        #expect(d.warnings.contains { $0.contains("NT_FILE entry for /bad") })
    }

    /// Found by MutationTests: `db @rsp` with rsp = 0xfffffffffffffff8 once spun forever at the top of the
    /// address space.
    @Test func readingAtTheTopOfTheAddressSpaceEnds() throws {
        var b = ElfCoreBuilder()
        b.notes.append(("CORE", 1, ElfCoreBuilder.prstatus(pid: 5, signal: 11, rip: 1, rsp: 0xFFFF_FFFF_FFFF_FFF8)))
        b.segments.append(.init(vaddr: 0x1000, data: [1, 2, 3, 4], memsz: 4))
        let d = try DumpLoader.open(path: TempFiles.write(b.build(), name: "top.core")).dump
        let bytes = d.memory.read(0xFFFF_FFFF_FFFF_FFF8, count: 32)
        #expect(bytes.count == 32 && bytes.allSatisfy { $0 == nil })
        #expect(d.memory.read(0xFFFF_FFFF_FFFF_FFFF, count: 1) == [nil])
        #expect(d.memory.readExact(0xFFFF_FFFF_FFFF_FFFC, count: 8) == nil)
    }

    /// Found by MutationTests: a mapped ELF image whose in-memory header has an absurd e_phoff made the build-id
    /// reader's address arithmetic overflow and trap.
    @Test func mappedImageWithAbsurdHeaderOffsetsHasNoBuildId() throws {
        var image = [UInt8](repeating: 0, count: 64)
        image.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
        image.replaceSubrange(32..<40, with: ElfCoreBuilder.le(UInt64.max - 8))  // e_phoff
        image.replaceSubrange(54..<56, with: ElfCoreBuilder.le(UInt16(56)))      // e_phentsize
        image.replaceSubrange(56..<58, with: ElfCoreBuilder.le(UInt16(4)))       // e_phnum
        var b = ElfCoreBuilder()
        b.notes.append(("CORE", 1, ElfCoreBuilder.prstatus(pid: 3, signal: 11, rip: 0x400000, rsp: 8)))
        var file = ElfCoreBuilder.le(UInt64(1))
        file += ElfCoreBuilder.le(UInt64(4096))
        file += ElfCoreBuilder.le(UInt64(0x40_0000)); file += ElfCoreBuilder.le(UInt64(0x40_1000)); file += ElfCoreBuilder.le(UInt64(0))
        file += Array("/image\0".utf8)
        b.notes.append(("CORE", 0x4649_4C45, file))
        b.segments.append(.init(vaddr: 0x40_0000, data: image, memsz: 0x1000))
        let d = try DumpLoader.open(path: TempFiles.write(b.build(), name: "phoff.core")).dump
        #expect(d.modules.map(\.path) == ["/image"])
        #expect(d.modules.first?.buildId == nil)
    }

    @Test func elfProgramHeadersPastEndAreReported() throws {
        var b = ElfCoreBuilder()
        b.declaredPhnum = 60000
        let d = try DumpLoader.open(path: TempFiles.write(b.build(), name: "phnum.core")).dump
        #expect(d.warnings.contains { $0.contains("program header table is truncated") })
    }

    @Test func notADumpNamesTheFile() {
        let p = TempFiles.write(Array("hello, world".utf8), name: "text.dmp")
        do {
            _ = try DumpLoader.open(path: p)
            Issue.record("a text file opened as a dump")
        } catch {
            #expect(error.description == "\(p): not a minidump or ELF core (starts with 68 65 6c 6c)")
        }
        let missing = TempFiles.directory + "/nope.dmp"
        do { _ = try DumpLoader.open(path: missing) } catch {
            #expect(error.description == "\(missing): cannot open: No such file or directory")
        }
    }

    @Test func truncatedXZIsAClearError() throws {
        let src = SharedDumps.path("elfutils/bz2/backtrace.x86_64.core.bz2")
        guard FileManager.default.fileExists(atPath: src) else { return }
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: src)))
        let p = TempFiles.write(Array(bytes.prefix(bytes.count / 2)), name: "half.core.bz2")
        setenv("DUMPDBG_CACHE", TempFiles.directory + "/cache", 1)
        do {
            _ = try DumpLoader.open(path: p)
            Issue.record("half a bzip2 file opened")
        } catch {
            #expect(error.description.hasPrefix(p + ": bzip2 data is damaged"))
        }
    }
}

/// Found by a CI rehearsal: two tests decompressing the same dump at once shared one temp file.
struct ConcurrentDecompressionTests {
    @Test func manyOpensOfOneCompressedDumpAtOnceAllSucceed() async throws {
        let src = SharedDumps.path("elfutils/bz2/backtrace.x86_64.core.bz2")
        guard FileManager.default.fileExists(atPath: src) else { return }
        // A copy under a new name: its cache entry cannot exist yet, so every open races to make it.
        let name = "concurrent-\(UUID().uuidString).core.bz2"
        let copy = TempFiles.directory + "/" + name
        try FileManager.default.copyItem(atPath: src, toPath: copy)
        _ = SharedDumps.cacheDirectory  // sets DUMPDBG_CACHE for every test
        let results = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do { return try DumpLoader.open(path: copy).dump.threads.count == 2 ? nil : "wrong thread count" } catch {
                        return "\(error)"
                    }
                }
            }
            var failures: [String] = []
            for await r in group { if let r { failures.append(r) } }
            return failures
        }
        #expect(results.isEmpty, "\(results)")
        let cached = (try? FileManager.default.contentsOfDirectory(atPath: Decompression.cacheDirectory())) ?? []
        let stem = String(name.dropLast(".bz2".count))
        #expect(cached.filter { $0.contains(stem) && $0.contains(".partial-") }.isEmpty, "no temp files left behind")
        #expect(cached.filter { $0.hasSuffix(stem) }.count == 1)
    }
}
