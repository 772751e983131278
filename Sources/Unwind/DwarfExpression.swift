/// A DWARF expression evaluator for the expressions call frame information uses: PLT entries' CFA
/// (`breg7 +8; breg16 +0; lit15; and; lit11; ge; lit3; shl; plus`) and signal trampolines' register rules
/// (`breg7 +N; deref`). Bounded in steps and stack depth; an unknown operation or a failed read gives nil.
enum DwarfExpression {
    static func evaluate(_ code: [UInt8], initialStack: [UInt64] = [], pointerSize: Int,
                         register: (Int) -> UInt64?, readPointer: (UInt64) -> UInt64?) -> UInt64? {
        var r = DwarfReader(code)
        var stack = initialStack
        var steps = 0
        let mask: UInt64 = pointerSize == 4 ? 0xFFFF_FFFF : ~0
        func pop() -> UInt64? { stack.popLast() }
        func push(_ v: UInt64) -> Bool {
            guard stack.count < 64 else { return false }
            stack.append(v & mask)
            return true
        }
        while !r.atEnd {
            steps += 1
            guard steps <= 1000 else { return nil }
            let op = r.u8()
            switch op {
            case 0x30...0x4F: guard push(UInt64(op - 0x30)) else { return nil }               // lit0..lit31
            case 0x50...0x6F: guard let v = register(Int(op - 0x50)), push(v) else { return nil }  // reg0..reg31
            case 0x70...0x8F:                                                                   // breg0..breg31
                let off = r.sleb()
                guard let v = register(Int(op - 0x70)), push(v &+ UInt64(bitPattern: off)) else { return nil }
            case 0x92:                                                                          // bregx
                let reg = r.uleb(); let off = r.sleb()
                guard reg < 1024, let v = register(Int(reg)), push(v &+ UInt64(bitPattern: off)) else { return nil }
            case 0x08: guard push(r.fixed(1)) else { return nil }                               // const1u
            case 0x09: guard push(UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: r.fixed(1))))) else { return nil }
            case 0x0A: guard push(r.fixed(2)) else { return nil }
            case 0x0B: guard push(UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: r.fixed(2))))) else { return nil }
            case 0x0C: guard push(r.fixed(4)) else { return nil }
            case 0x0D: guard push(UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: r.fixed(4))))) else { return nil }
            case 0x0E, 0x0F: guard push(r.fixed(8)) else { return nil }
            case 0x10: guard push(r.uleb()) else { return nil }                                 // constu
            case 0x11: guard push(UInt64(bitPattern: r.sleb())) else { return nil }             // consts
            case 0x12: guard let v = stack.last, push(v) else { return nil }                    // dup
            case 0x13: guard pop() != nil else { return nil }                                   // drop
            case 0x14: guard stack.count >= 2, push(stack[stack.count - 2]) else { return nil } // over
            case 0x16: guard stack.count >= 2 else { return nil }; stack.swapAt(stack.count - 1, stack.count - 2)
            case 0x06:                                                                          // deref
                guard let a = pop(), let v = readPointer(a), push(v) else { return nil }
            case 0x1A, 0x1C, 0x1E, 0x21, 0x22, 0x24, 0x25, 0x26, 0x27,
                 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E:
                guard let b = pop(), let a = pop() else { return nil }
                let v: UInt64
                switch op {
                case 0x1A: v = a & b
                case 0x1C: v = a &- b
                case 0x1E: v = a &* b
                case 0x21: v = a | b
                case 0x22: v = a &+ b
                case 0x24: v = b < 64 ? a << b : 0
                case 0x25: v = b < 64 ? a >> b : 0
                case 0x26: v = b < 64 ? UInt64(bitPattern: Int64(bitPattern: a) >> Int64(b)) : 0
                case 0x27: v = a ^ b
                case 0x29: v = a == b ? 1 : 0
                case 0x2A: v = Int64(bitPattern: a) >= Int64(bitPattern: b) ? 1 : 0
                case 0x2B: v = Int64(bitPattern: a) > Int64(bitPattern: b) ? 1 : 0
                case 0x2C: v = Int64(bitPattern: a) <= Int64(bitPattern: b) ? 1 : 0
                case 0x2D: v = Int64(bitPattern: a) < Int64(bitPattern: b) ? 1 : 0
                default: v = a != b ? 1 : 0
                }
                guard push(v) else { return nil }
            case 0x1F: guard let a = pop(), push(0 &- a) else { return nil }                    // neg
            case 0x20: guard let a = pop(), push(~a) else { return nil }                        // not
            case 0x23: guard let a = pop(), push(a &+ r.uleb()) else { return nil }             // plus_uconst
            case 0x96: break                                                                    // nop
            default: return nil
            }
        }
        return r.failed ? nil : stack.last
    }
}
