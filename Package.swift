// swift-tools-version:6.0
import PackageDescription

// Data flows one way: file -> DumpModel -> resolvers (Metadata, ClrLayout) -> Commands -> output.
// LineEditor only knows about lines; dumpdbg wires a session to it.

// Start-up (Docs/benchmarks.md section 6): code that needs a concrete generic type's metadata (a Dictionary's
// storage, say) asks the runtime for it by mangled name by default, and the runtime then checks the type's generic
// requirements by scanning every conformance record in the binary (6,500 of them with the static Swift runtime and
// Foundation): a fifth of a millisecond the first time in each process, a millisecond in all of a `-c` run. With
// this flag the compiler calls the metadata accessors with the witness tables it already knows.
let directMetadataAccess: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"], .when(configuration: .release)),
]
let package = Package(
    name: "dumpdbg",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dumpdbg", targets: ["dumpdbg"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries: the C code the field already wrote.
        .systemLibrary(name: "CLibEdit", pkgConfig: "libedit",
                       providers: [.apt(["libedit-dev"]), .brew(["libedit"])]),
        .systemLibrary(name: "CCapstone", pkgConfig: "capstone",
                       providers: [.apt(["libcapstone-dev"]), .brew(["capstone"])]),
        .systemLibrary(name: "CCompression", pkgConfig: "liblzma",
                       providers: [.apt(["liblzma-dev", "zlib1g-dev", "libbz2-dev"]), .brew(["xz"])]),
        // SHA-256 of whole dumps for `dumpdbg triage` (OpenSSL's EVP digests, streaming).
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),

        // Bytes and formats: minidumps, ELF cores, one address space. Never prints.
        .target(name: "DumpModel", dependencies: ["CCompression"], swiftSettings: directMetadataAccess),
        // ECMA-335 metadata (type, field and method names) over any byte view of a PE image.
        .target(name: "Metadata", swiftSettings: directMetadataAccess),
        // Native meaning of bytes: address -> module+offset, Windows TEB/PEB, disassembly (Capstone), image
        // files found by identity on the image path, ELF symbol tables.
        .target(name: "Native", dependencies: ["DumpModel", "CCapstone", "CCompression"], swiftSettings: directMetadataAccess,
                // __cxa_demangle for C++ names in stacks: the C++ runtime Swift itself already uses.
                linkerSettings: [.linkedLibrary("stdc++", .when(platforms: [.linux])), .linkedLibrary("c++", .when(platforms: [.macOS]))]),
        // The WinDbg-language layer: registry, parser, expression evaluator, commands.
        // CoreCLR structures read without the DAC: runtime, GC heap, types, objects.
        // Native call stacks: call frame information (.eh_frame), frame pointers, stack scanning; symbols.
        .target(name: "Unwind", dependencies: ["DumpModel", "Native"], swiftSettings: directMetadataAccess),
        .target(name: "ClrLayout", dependencies: ["DumpModel", "Metadata", "Native", "Unwind"], swiftSettings: directMetadataAccess),
        .target(name: "Commands", dependencies: ["DumpModel", "Native", "ClrLayout", "Unwind"], swiftSettings: directMetadataAccess),
        // libedit wrapper: prompt, history, completion, Ctrl-C.
        .target(name: "LineEditor", dependencies: ["CLibEdit"], swiftSettings: directMetadataAccess,
                // macOS has libedit without a pkg-config file: its -l comes from here (on Linux, from pkg-config's Libs,
                // which Samples/static-libs points at the archive for release builds).
                linkerSettings: [.linkedLibrary("edit", .when(platforms: [.macOS]))]),
        .executableTarget(name: "dumpdbg", dependencies: [
            "Commands", "LineEditor", "DumpModel", "CCrypto",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: directMetadataAccess, linkerSettings: [
            // Start-up (Docs/benchmarks.md section 6): a release binary on Linux is not position-independent, so
            // the 80 K relative relocations of a binary that holds the Swift runtime (--static-swift-stdlib, as
            // Samples/try.sh builds it) are not applied at every start: with both, 22 ms -> 12 ms.
            .unsafeFlags(["-Xlinker", "-no-pie"], .when(platforms: [.linux], configuration: .release)),
        ]),

        // Figures, not tests: swift run -c release dumpdbg-bench
        .executableTarget(name: "dumpdbg-bench", dependencies: ["Commands", "DumpModel"]),

        // Test-only helpers shared by the test targets (where the runtime's files are installed, a seeded RNG).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "DumpModelTests", dependencies: ["DumpModel", "TestSupport"]),
        .testTarget(name: "MetadataTests", dependencies: ["Metadata", "TestSupport"]),
        .testTarget(name: "CommandsTests", dependencies: ["Commands", "DumpModel", "Native", "Unwind", "TestSupport"]),
        .testTarget(name: "DumpdbgTests", dependencies: ["dumpdbg", "TestSupport"]),
        // Expected/ holds oracle outputs the tests read by path.
        .testTarget(name: "ClrLayoutTests", dependencies: ["ClrLayout", "Commands", "DumpModel", "Metadata", "TestSupport"],
                    exclude: ["Expected"]),
    ],
    swiftLanguageModes: [.v6]
)
