import Metadata

/// Where the references among a call's arguments are before the callee runs: the slots of a TransitionBlock (the
/// argument registers a transition stub saved, then the caller's stack arguments) that hold them, placed as the
/// x64 calling conventions place arguments (the runtime's ArgIterator, callingconvention.h) and typed by the
/// method's signature. This is what a FramedMethodFrame protects (TransitionFrame::PromoteCallerStack) while the
/// runtime prepares the call (the prestub compiling the callee).
struct ClrCallArgumentReferences {
    /// Bytes from the TransitionBlock to a slot holding a reference; `interior` for byrefs and by-reference structs.
    struct Slot: Equatable {
        let offset: Int64
        let interior: Bool
    }

    enum ABI {
        /// System V (Linux, macOS): six integer registers saved at the block's start, then (after the callee-saved
        /// registers and the return address, 0x68 bytes in all) the stack arguments; floating-point arguments go to
        /// XMM registers saved below the block. Structs of up to 16 bytes travel in registers by their eightbytes.
        case systemV
        /// Windows: every argument takes the next 8-byte slot after the block (callee-saved registers and return
        /// address, 0x48 bytes): the four register arguments' home slots, then the stack. Structs whose size is
        /// not 1, 2, 4 or 8 bytes are passed as a pointer to a copy.
        case windows
    }

    /// The integer or floating-point class of one eightbyte of a struct (System V's classification).
    enum EightByte { case integer, sse }

    /// A value type as the calling convention needs it: its size, its reference slots, the class of each
    /// eightbyte (nil when System V would pass it in memory anyway).
    struct ValueLayout {
        let size: Int
        /// The largest field's alignment: where the struct may start inside another.
        let alignment: Int
        let referenceOffsets: [Int]
        let eightBytes: [EightByte]?
    }

    /// What a parameter is to the GC and to the calling convention.
    enum Parameter {
        case integer
        case float
        case reference
        case byRef
        case valueType(ValueLayout)
    }

    let abi: ABI
    private var generalRegisters = 0, floatRegisters = 0, stackBytes = 0, windowsSlots = 0
    private(set) var slots: [Slot] = []

    init(abi: ABI) { self.abi = abi }

    /// The next argument that takes an integer register (or, past them, a stack slot).
    private mutating func nextGeneral() -> Int64 {
        switch abi {
        case .windows:
            defer { windowsSlots += 1 }
            return 0x48 + Int64(windowsSlots) * 8
        case .systemV:
            if generalRegisters < 6 { defer { generalRegisters += 1 }; return Int64(generalRegisters) * 8 }
            return nextStack(8)
        }
    }

    private mutating func nextFloat() {
        switch abi {
        case .windows: windowsSlots += 1
        case .systemV: if floatRegisters < 8 { floatRegisters += 1 } else { _ = nextStack(8) }
        }
    }

    private mutating func nextStack(_ size: Int) -> Int64 {
        defer { stackBytes += (size + 7) & ~7 }
        return 0x68 + Int64(stackBytes)
    }

    /// `this`: a reference, or for a value type's method an interior pointer to the value.
    mutating func addThis(valueType: Bool) { slots.append(Slot(offset: nextGeneral(), interior: valueType)) }

    /// The hidden pointer to the caller's buffer for a returned struct (reported as an interior pointer).
    mutating func addReturnBuffer() { slots.append(Slot(offset: nextGeneral(), interior: true)) }

    /// Whether a struct return comes back through a hidden buffer rather than in registers.
    func returnsThroughBuffer(_ v: ValueLayout) -> Bool {
        switch abi {
        case .windows: return !Self.travelsByValueOnWindows(v.size)
        case .systemV: return v.eightBytes == nil
        }
    }

    static func travelsByValueOnWindows(_ size: Int) -> Bool { size == 1 || size == 2 || size == 4 || size == 8 }

    mutating func add(_ p: Parameter) {
        switch p {
        case .integer: _ = nextGeneral()
        case .float: nextFloat()
        case .reference: slots.append(Slot(offset: nextGeneral(), interior: false))
        case .byRef: slots.append(Slot(offset: nextGeneral(), interior: true))
        case .valueType(let v):
            switch abi {
            case .windows:
                let o = nextGeneral()
                if !Self.travelsByValueOnWindows(v.size) { slots.append(Slot(offset: o, interior: true)); return }
                slots += v.referenceOffsets.map { Slot(offset: o + Int64($0), interior: false) }
            case .systemV:
                // In registers only when every eightbyte finds one; else the whole struct goes on the stack.
                if let classes = v.eightBytes {
                    let integers = classes.filter { $0 == .integer }.count, floats = classes.count - integers
                    if generalRegisters + integers <= 6, floatRegisters + floats <= 8 {
                        for (i, c) in classes.enumerated() {
                            guard c == .integer else { floatRegisters += 1; continue }
                            let register = Int64(generalRegisters) * 8
                            generalRegisters += 1
                            slots += v.referenceOffsets.filter { $0 / 8 == i }.map { Slot(offset: register + Int64($0 % 8), interior: false) }
                        }
                        return
                    }
                }
                let o = nextStack(v.size)
                slots += v.referenceOffsets.map { Slot(offset: o + Int64($0), interior: false) }
            }
        }
    }
}

extension ClrRuntime {
    /// The references among the arguments of a call to `methodDesc` that a FramedMethodFrame's TransitionBlock
    /// holds, as offsets from the block. nil when dumpdbg cannot place every argument: a vararg or generic method,
    /// a static or struct method of a generic type (a hidden instantiation argument), a struct the runtime has not
    /// built or whose layout dumpdbg cannot confirm, a byref-like struct (its interior pointers are not in its GCDesc).
    func callArgumentReferences(methodDesc: UInt64, abi: ClrCallArgumentReferences.ABI) -> [ClrCallArgumentReferences.Slot]? {
        guard let (type, token) = methodDescInfo(methodDesc), dynamicMethodName(methodDesc) == nil, let module = type.module,
              let md = module.metadata, let method = try? md.methodDef(Int(token & 0x00FF_FFFF)),
              let sig = try? md.methodSignature(blob: method.signature), !sig.isVarArg, sig.genericParameterCount == 0 else { return nil }
        let context = type.genericArguments
        if !context.isEmpty, !sig.hasThis || type.isValueType { return nil }
        var placer = ClrCallArgumentReferences(abi: abi)
        if sig.hasThis { placer.addThis(valueType: type.isValueType) }
        switch sig.returnType.unmodified {
        case .primitive(.void): break
        case let r:
            guard let p = callParameter(r, context: context, module: module) else { return nil }
            if case .valueType(let v) = p, placer.returnsThroughBuffer(v) { placer.addReturnBuffer() }
        }
        for p in sig.parameters {
            guard let parameter = callParameter(p, context: context, module: module) else { return nil }
            placer.add(parameter)
        }
        return placer.slots
    }

    private func callParameter(_ sig: TypeSignature, context: [UInt64], module: ClrModule) -> ClrCallArgumentReferences.Parameter? {
        switch sig {
        case .primitive(let p):
            switch p {
            case .string, .object: return .reference
            case .float32, .float64: return .float
            case .typedReference, .void: return nil
            default: return .integer
            }
        case .named(_, isValueType: false), .szArray, .array: return .reference
        case .pointer, .functionPointer: return .integer
        case .byRef: return .byRef
        case .modified(let inner, _, _), .pinned(let inner): return callParameter(inner, context: context, module: module)
        case .methodParameter: return nil
        case .typeParameter(let i):
            return i < context.count ? callParameter(handle: context[i]) : nil
        case .runtimeHandle(let th):
            return callParameter(handle: th)
        case .named(_, isValueType: true), .genericInstance:
            if !sig.isValueType { return .reference }
            return resolveType(sig, context: context, module: module, depth: 0).flatMap(callParameter(handle:))
        }
    }

    /// A loaded type as a parameter: a reference, or a struct by its layout.
    private func callParameter(handle: UInt64) -> ClrCallArgumentReferences.Parameter? {
        guard let t = typeForHandle(handle) else { return nil }
        return t.isValueType ? valueLayout(t, depth: 0).map { .valueType($0) } : .reference
    }

    /// A struct's size from its fields (the last field's end, rounded to the largest field's alignment, as
    /// sequential layout does), confirmed against the size the runtime gave its boxed form; its reference slots
    /// from its GCDesc (what the runtime reports); the System V class of each eightbyte.
    func valueLayout(_ t: ClrType, depth: Int) -> ClrCallArgumentReferences.ValueLayout? {
        typealias Layout = ClrCallArgumentReferences
        guard depth < 8, t.isValueType else { return nil }
        var end = 0, alignment = 1
        var classes: [Int: Layout.EightByte] = [:]
        func mark(_ offset: Int, _ size: Int, _ c: Layout.EightByte) {
            for e in stride(from: offset / 8, through: (offset + max(size, 1) - 1) / 8, by: 1) where classes[e] != .integer { classes[e] = c }
        }
        for f in t.instanceFields {
            let offset = Int(f.offset)
            let size: Int, fieldAlignment: Int
            if f.elementType == .valueType {
                guard let ft = type(fieldTypeMT(f)), let inner = valueLayout(ft, depth: depth + 1) else { return nil }
                size = inner.size
                fieldAlignment = inner.alignment
                for (i, c) in (inner.eightBytes ?? Array(repeating: .integer, count: (inner.size + 7) / 8)).enumerated() {
                    mark(offset + i * 8, min(8, inner.size - i * 8), c)
                }
            } else if f.elementType == .byref {
                return nil
            } else if let s = f.elementType?.size {
                (size, fieldAlignment) = (s, s)
                mark(offset, s, f.elementType == .r4 || f.elementType == .r8 ? .sse : .integer)
            } else if f.elementType?.isReference == true {
                (size, fieldAlignment) = (8, 8)
                mark(offset, 8, .integer)
            } else {
                return nil
            }
            guard offset % fieldAlignment == 0 else { return nil }
            end = max(end, offset + size)
            alignment = max(alignment, fieldAlignment)
        }
        let size = max(1, (end + alignment - 1) / alignment * alignment)
        // The boxed form holds the header, the MethodTable pointer and the fields rounded to 8 (24 bytes at least).
        guard max(24, 16 + (size + 7) / 8 * 8) == Int(t.baseSize) else { return nil }
        var references: [Int] = []
        if t.containsPointers {
            guard let desc = gcDesc(t) else { return nil }
            desc.forEachSlot(object: 0, size: UInt64(t.baseSize), limit: 64) { references.append(Int($0) - 8) }
        }
        let eightBytes: [Layout.EightByte]? = size > 16 ? nil : (0..<(size + 7) / 8).map { classes[$0] ?? .integer }
        return Layout.ValueLayout(size: size, alignment: alignment, referenceOffsets: references, eightBytes: eightBytes)
    }
}
