import DumpModel

/// A Breakpad symbol file (`.sym`, the text format `dump_syms` writes): functions with their source lines and
/// inlined calls, public symbols, and the unwind rules of `STACK CFI` and `STACK WIN` records.
/// Format: https://chromium.googlesource.com/breakpad/breakpad/+/HEAD/docs/symbol_files.md
///
/// A line that does not parse is skipped and counted (as Breakpad's own resolver does), so a damaged file gives
/// what its good lines say. Addresses are module-relative.
public final class BreakpadSymbolFile: @unchecked Sendable {
    // @unchecked: immutable after init.

    /// The `MODULE operatingsystem architecture id name` line.
    public struct Identity: Sendable, Equatable {
        public let os: String
        public let architecture: String
        public let id: String
        public let name: String
    }

    public struct Function: Sendable {
        public let start: UInt64
        public let size: UInt64
        public let parameterSize: UInt64
        public let name: String
        /// `FUNC m`: the linker folded several functions into this code.
        public let isMultiple: Bool
        fileprivate var lines: Range<Int>
        fileprivate var inlines: Range<Int>
    }

    public struct Public: Sendable {
        public let address: UInt64
        public let parameterSize: UInt64
        public let name: String
    }

    /// A `STACK WIN` record: x86 frame data (type 4, with a program string) or FPO data (type 0).
    public struct WindowsFrameInfo: Sendable {
        public let type: Int
        public let start: UInt64
        public let size: UInt64
        public let prologSize: UInt64
        public let epilogSize: UInt64
        public let parameterSize: UInt64
        public let savedRegisterSize: UInt64
        public let localSize: UInt64
        public let maxStackSize: UInt64
        /// The postfix program that computes the caller's registers (type 4).
        public let program: String?
        /// FPO data without a program: the function uses ebp as its frame pointer.
        public let allocatesBasePointer: Bool
    }

    /// One function on a code address: an inlined call (innermost first) or the function that holds the code.
    public struct SourceFrame: Sendable, Equatable {
        public let function: String
        /// Module-relative: the function's start, or for an inlined call the start of the inlined range.
        public let start: UInt64
        public let file: String?
        public let line: Int?
        public let isInline: Bool

        public init(function: String, start: UInt64, file: String?, line: Int?, isInline: Bool) {
            self.function = function
            self.start = start
            self.file = file
            self.line = line
            self.isInline = isInline
        }
    }

    private struct Line {
        let start: UInt64
        let size: UInt64
        let line: Int
        let file: Int
    }

    private struct Inline {
        let depth: Int
        let callLine: Int
        /// Nil in the old format (`INLINE depth line origin ranges`), which has no call-site file.
        let callFile: Int?
        let origin: Int
        let ranges: [(start: UInt64, size: UInt64)]
    }

    private struct CallFrameRules {
        let start: UInt64
        let size: UInt64
        let initial: String
        var deltas: [(address: UInt64, rules: String)]
    }

    public let path: String
    public let identity: Identity?
    /// Lines that did not parse.
    public let badLines: Int
    public let functions: [Function]
    public let publics: [Public]
    private let files: [Int: String]
    private let origins: [Int: String]
    private let lines: [Line]
    private let inlineRecords: [Inline]
    private let callFrameRules: [CallFrameRules]
    /// Frame data (type 4) first, then FPO (type 0): Breakpad's order of preference.
    private let windowsFrames: [[WindowsFrameInfo]]

    public convenience init(path: String) throws(ImageFileError) {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw ImageFileError("cannot open \(path): \(error.problem)") }
        guard file.size > 0, let bytes = file.bytes(at: 0, count: Int(file.size)) else { throw ImageFileError("\(path) is empty") }
        try self.init(path: path, text: bytes)
    }

    public init(path: String, text: UnsafeRawBufferPointer) throws(ImageFileError) {
        self.path = path
        var identity: Identity?
        var bad = 0
        var files: [Int: String] = [:], origins: [Int: String] = [:]
        var functions: [Function] = [], publics: [Public] = []
        var lines: [Line] = [], inlines: [Inline] = []
        var cfi: [CallFrameRules] = []
        var frameData: [WindowsFrameInfo] = [], fpo: [WindowsFrameInfo] = []
        var first = true

        func close(_ functions: inout [Function]) {
            guard !functions.isEmpty else { return }
            functions[functions.count - 1].lines = functions[functions.count - 1].lines.lowerBound..<lines.count
            functions[functions.count - 1].inlines = functions[functions.count - 1].inlines.lowerBound..<inlines.count
        }

        var start = 0
        let count = text.count
        while start < count {
            var end = start
            while end < count, text[end] != 0x0A { end += 1 }
            var stop = end
            if stop > start, text[stop - 1] == 0x0D { stop -= 1 }
            let line = LineCursor(text, start, stop)
            start = end + 1
            if first {
                first = false
                var c = line
                guard c.word() == "MODULE" else {
                    throw ImageFileError("\(path) is not a Breakpad symbol file (it does not start with MODULE)")
                }
                if let os = c.word(), let arch = c.word(), let id = c.word() {
                    identity = Identity(os: os, architecture: arch, id: id, name: c.rest())
                } else { bad += 1 }
                continue
            }
            guard !line.isEmpty else { continue }
            var c = line
            if !functions.isEmpty, functions[functions.count - 1].lines.upperBound == Int.max, line.firstByte.map(Self.isHexDigit) == true {
                // A line record of the open FUNC (address size line filenum); no keyword is all hex digits.
                var probe = c
                if let a = probe.hex() {
                    guard let s = probe.hex(), let l = probe.decimal(), let f = probe.decimal() else { bad += 1; continue }
                    lines.append(Line(start: a, size: s, line: l, file: f))
                    continue
                }
            }
            switch c.word() {
            case "FILE":
                guard let n = c.decimal() else { bad += 1; continue }
                files[n] = c.rest()
            case "INLINE_ORIGIN":
                // New format: id name. Old format: id fileid name; Breakpad calls it old when the second token is a number.
                guard let n = c.decimal() else { bad += 1; continue }
                var probe = c
                if let w = probe.word(), Int(w) != nil, !probe.isEmpty { c = probe }
                origins[n] = c.rest()
            case "FUNC":
                close(&functions)
                var multiple = false
                var probe = c
                if probe.word() == "m" { multiple = true; c = probe }
                guard let a = c.hex(), let s = c.hex(), let p = c.hex() else { bad += 1; continue }
                functions.append(Function(start: a, size: s, parameterSize: p, name: c.rest(), isMultiple: multiple,
                                          lines: lines.count..<Int.max, inlines: inlines.count..<Int.max))
            case "INLINE":
                guard !functions.isEmpty, functions[functions.count - 1].lines.upperBound == Int.max else { bad += 1; continue }
                var numbers: [UInt64] = []
                var tokens: [Substring] = []
                while let w = c.word() { tokens.append(Substring(w)) }
                // Breakpad tells the formats apart by the parity of the token count (the new one adds a file id).
                let hasFile = tokens.count % 2 == 0
                guard tokens.count >= 5 else { bad += 1; continue }
                let fixed = hasFile ? 4 : 3
                guard let depth = Int(tokens[0]), let callLine = Int(tokens[1]),
                      let origin = Int(tokens[fixed - 1]) else { bad += 1; continue }
                let callFile = hasFile ? Int(tokens[2]) : nil
                if hasFile && callFile == nil { bad += 1; continue }
                for t in tokens[fixed...] { if let v = UInt64(t, radix: 16) { numbers.append(v) } }
                guard numbers.count == tokens.count - fixed else { bad += 1; continue }
                let ranges = stride(from: 0, to: numbers.count, by: 2).map { (start: numbers[$0], size: numbers[$0 + 1]) }
                inlines.append(Inline(depth: depth, callLine: callLine, callFile: callFile, origin: origin, ranges: ranges))
            case "PUBLIC":
                close(&functions)
                var probe = c
                if probe.word() == "m" { c = probe }
                guard let a = c.hex(), let p = c.hex() else { bad += 1; continue }
                publics.append(Public(address: a, parameterSize: p, name: c.rest()))
            case "STACK":
                close(&functions)
                switch c.word() {
                case "CFI":
                    var probe = c
                    if probe.word() == "INIT" {
                        c = probe
                        guard let a = c.hex(), let s = c.hex() else { bad += 1; continue }
                        cfi.append(CallFrameRules(start: a, size: s, initial: c.rest(), deltas: []))
                    } else {
                        guard !cfi.isEmpty, let a = c.hex() else { bad += 1; continue }
                        cfi[cfi.count - 1].deltas.append((a, c.rest()))
                    }
                case "WIN":
                    guard let type = c.hex(), let a = c.hex(), let s = c.hex(), let prolog = c.hex(), let epilog = c.hex(),
                          let params = c.hex(), let saved = c.hex(), let locals = c.hex(), let maxStack = c.hex(),
                          let hasProgram = c.hex() else { bad += 1; continue }
                    let tail = c.rest()
                    let info = WindowsFrameInfo(type: Int(type), start: a, size: s, prologSize: prolog, epilogSize: epilog,
                                                parameterSize: params, savedRegisterSize: saved, localSize: locals,
                                                maxStackSize: maxStack, program: hasProgram != 0 ? tail : nil,
                                                allocatesBasePointer: hasProgram == 0 && tail == "1")
                    if type == 4 { frameData.append(info) } else if type == 0 { fpo.append(info) }
                default: bad += 1
                }
            case "INFO": close(&functions)
            default: bad += 1
            }
        }
        close(&functions)
        guard !first else { throw ImageFileError("\(path) is empty") }

        // Line records and inlines in address order within each function; functions, publics and rules by address.
        var sortedLines = lines
        for f in functions where f.lines.count > 1 {
            sortedLines[f.lines].sort { $0.start < $1.start }
        }
        self.identity = identity
        badLines = bad
        self.files = files
        self.origins = origins
        self.lines = sortedLines
        inlineRecords = inlines
        self.functions = functions.sorted { $0.start < $1.start }
        self.publics = publics.sorted { $0.address < $1.address }
        callFrameRules = cfi.sorted { $0.start < $1.start }
        windowsFrames = [frameData.sorted { $0.start < $1.start }, fpo.sorted { $0.start < $1.start }]
    }

    // MARK: Lookups (module-relative addresses)

    /// The FUNC covering an address.
    public func function(at address: UInt64) -> Function? {
        guard let i = SortedSearch.lastIndex(functions.count, atOrBelow: address, { functions[$0].start }) else { return nil }
        let f = functions[i]
        return address - f.start < f.size ? f : nil
    }

    /// The nearest PUBLIC at or below an address, unless a FUNC starts between them (Breakpad's rule).
    public func publicSymbol(at address: UInt64) -> Public? {
        guard let i = SortedSearch.lastIndex(publics.count, atOrBelow: address, { publics[$0].address }) else { return nil }
        let p = publics[i]
        if let j = SortedSearch.lastIndex(functions.count, atOrBelow: address, { functions[$0].start }), functions[j].start > p.address { return nil }
        return p
    }

    /// The functions at a code address, innermost inlined call first, the FUNC (or PUBLIC) holding the code last;
    /// each with its source line, computed as Breakpad's resolver does. Empty when the file says nothing there.
    public func sourceFrames(at address: UInt64) -> [SourceFrame] {
        guard let f = function(at: address) else {
            guard let p = publicSymbol(at: address) else { return [] }
            return [SourceFrame(function: p.name, start: p.address, file: nil, line: nil, isInline: false)]
        }
        var file: String?, lineNumber: Int?
        if let l = line(in: f, at: address) {
            file = files[l.file]
            lineNumber = l.line
        }
        // The inlined calls covering the address, innermost (deepest) first.
        let covering = inlineRecords[f.inlines].filter { r in r.ranges.contains { address >= $0.start && address - $0.start < $0.size } }
            .sorted { $0.depth > $1.depth }
        guard !covering.isEmpty else { return [SourceFrame(function: f.name, start: f.start, file: file, line: lineNumber, isInline: false)] }
        // Each inlined frame shows the line inside it: the innermost the line table's, the others the call site of the
        // call inside them; the function itself shows the outermost call's site.
        var out: [SourceFrame] = []
        var innerFile = file, innerLine = lineNumber
        for r in covering {
            let start = r.ranges.first { address >= $0.start && address - $0.start < $0.size }?.start ?? f.start
            out.append(SourceFrame(function: origins[r.origin] ?? "<name omitted>", start: start, file: innerFile, line: innerLine, isInline: true))
            innerFile = r.callFile.map { files[$0] } ?? file
            innerLine = r.callLine
        }
        out.append(SourceFrame(function: f.name, start: f.start, file: innerFile, line: innerLine, isInline: false))
        return out
    }

    private func line(in f: Function, at address: UInt64) -> Line? {
        let range = f.lines
        guard !range.isEmpty else { return nil }
        guard let i = SortedSearch.lastIndex(range.count, atOrBelow: address, { lines[range.lowerBound + $0].start }) else { return nil }
        let l = lines[range.lowerBound + i]
        return address - l.start < l.size ? l : nil
    }

    /// The `STACK CFI` rules in force at an address: register name (`.cfa`, `.ra`, `$rbp`, `x29`...) to postfix
    /// expression; the INIT rules with every delta at or below the address applied.
    public func callFrameRules(at address: UInt64) -> [String: String]? {
        guard let i = SortedSearch.lastIndex(callFrameRules.count, atOrBelow: address, { callFrameRules[$0].start }) else { return nil }
        let r = callFrameRules[i]
        guard address - r.start < r.size else { return nil }
        var rules = Self.splitRules(r.initial)
        for d in r.deltas where d.address <= address {
            for (k, v) in Self.splitRules(d.rules) { rules[k] = v }
        }
        return rules
    }

    /// The `STACK WIN` record for an address: frame data before FPO, the innermost of nested records.
    public func windowsFrameInfo(at address: UInt64) -> WindowsFrameInfo? {
        for table in windowsFrames {
            guard let i = SortedSearch.lastIndex(table.count, atOrBelow: address, { table[$0].start }) else { continue }
            var best: WindowsFrameInfo?
            // Records nest (a function's body inside its prologue's range): take the smallest that holds the address.
            for j in stride(from: i, through: max(0, i - 64), by: -1) where address - table[j].start < table[j].size {
                if best == nil || table[j].size < best!.size { best = table[j] }
            }
            if let best { return best }
        }
        return nil
    }

    /// The bytes of parameters the function at an address pops or takes (Breakpad's VALID_PARAMETER_SIZE).
    public func parameterSize(at address: UInt64) -> UInt64? {
        if let w = windowsFrameInfo(at: address) { return w.parameterSize }
        if let f = function(at: address) { return f.parameterSize }
        return publicSymbol(at: address)?.parameterSize
    }

    public var hasCallFrameRules: Bool { !callFrameRules.isEmpty || !windowsFrames.allSatisfy(\.isEmpty) }
    public var hasLines: Bool { !lines.isEmpty }

    /// A function's name as WinDbg prints it in a call site: without the parameter list (and a trailing
    /// `const`) that symbol files written from DWARF keep. `operator()` and names without parameters stay whole.
    public static func displayName(_ name: String) -> String {
        var text = Substring(name)
        if text.hasSuffix(" const") { text = text.dropLast(6) }
        guard text.hasSuffix(")") else { return name }
        var depth = 0
        var i = text.endIndex
        while i > text.startIndex {
            i = text.index(before: i)
            switch text[i] {
            case ")": depth += 1
            case "(":
                depth -= 1
                if depth == 0 {
                    let head = text[..<i]
                    return head.isEmpty || head.hasSuffix("operator") ? name : String(head)
                }
            default: break
            }
        }
        return name
    }

    /// `.cfa: $rsp 8 + .ra: .cfa -8 + ^` -> [".cfa": "$rsp 8 +", ".ra": ".cfa -8 + ^"].
    static func splitRules(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var name: Substring?
        var expression: [Substring] = []
        for token in text.split(separator: " ") {
            if token.hasSuffix(":") {
                if let name { out[String(name)] = expression.joined(separator: " ") }
                name = token.dropLast()
                expression = []
            } else {
                expression.append(token)
            }
        }
        if let name { out[String(name)] = expression.joined(separator: " ") }
        return out
    }

    fileprivate static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)
    }
}

/// Reads one line of a symbol file token by token.
private struct LineCursor {
    let text: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    init(_ text: UnsafeRawBufferPointer, _ start: Int, _ end: Int) {
        self.text = text
        position = start
        self.end = end
    }

    var isEmpty: Bool { position >= end }
    var firstByte: UInt8? { position < end ? text[position] : nil }

    private mutating func skipSpaces() {
        while position < end, text[position] == 0x20 || text[position] == 0x09 { position += 1 }
    }

    /// The next space-separated token.
    mutating func word() -> String? {
        skipSpaces()
        let s = position
        while position < end, text[position] != 0x20, text[position] != 0x09 { position += 1 }
        guard position > s else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: text[s..<position]), as: UTF8.self)
    }

    /// The rest of the line (a name may hold spaces).
    mutating func rest() -> String {
        skipSpaces()
        defer { position = end }
        return String(decoding: UnsafeRawBufferPointer(rebasing: text[position..<end]), as: UTF8.self)
    }

    mutating func hex() -> UInt64? {
        skipSpaces()
        var v: UInt64 = 0
        let s = position
        while position < end, text[position] != 0x20, text[position] != 0x09 {
            let b = text[position]
            let d: UInt8
            switch b {
            case 0x30...0x39: d = b - 0x30
            case 0x61...0x66: d = b - 0x61 + 10
            case 0x41...0x46: d = b - 0x41 + 10
            default: return nil
            }
            guard v >> 60 == 0 else { return nil }
            v = v << 4 | UInt64(d)
            position += 1
        }
        return position > s && position - s <= 16 ? v : nil
    }

    /// A decimal number (a FILE or origin id may be -1).
    mutating func decimal() -> Int? {
        guard let w = word() else { return nil }
        return Int(w)
    }
}
