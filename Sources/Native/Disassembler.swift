import CCapstone
import DumpModel
import Foundation

/// Disassembles target code with Capstone, formatted the way WinDbg prints it:
/// `00007ff6`127dc480 c70000000000    mov     dword ptr [rax],0`.
public final class Disassembler {
    public struct Instruction: Sendable {
        public let address: UInt64
        public let bytes: [UInt8]
        public let mnemonic: String
        public let operands: String
    }

    private var handle: csh = 0
    private let opened: Bool
    private let isX86: Bool

    public init?(architecture: CPUArchitecture) {
        let arch: cs_arch
        let mode: cs_mode
        switch architecture {
        case .amd64: arch = CS_ARCH_X86; mode = CS_MODE_64
        case .x86: arch = CS_ARCH_X86; mode = CS_MODE_32
        case .x32: arch = CS_ARCH_X86; mode = CS_MODE_64
        case .arm64: arch = CS_ARCH_ARM64; mode = CS_MODE_LITTLE_ENDIAN
        case .arm: arch = CS_ARCH_ARM; mode = CS_MODE_ARM
        default: return nil
        }
        guard cs_open(arch, mode, &handle) == CS_ERR_OK else { return nil }
        opened = true
        isX86 = arch == CS_ARCH_X86
        if isX86 {
            // MASM syntax gives WinDbg's `10h` immediates and `dword ptr [...]` operands; the details give each
            // immediate's size, for WinDbg's unsigned spelling of negative ones.
            cs_option(handle, CS_OPT_SYNTAX, Int(CS_OPT_SYNTAX_MASM.rawValue))
            cs_option(handle, CS_OPT_DETAIL, Int(CS_OPT_ON.rawValue))
        }
    }

    deinit { if opened { cs_close(&handle) } }

    /// Decodes one instruction from `code` at `address`; nil when the bytes are not a valid instruction.
    public func decode(_ code: [UInt8], at address: UInt64) -> Instruction? {
        var insn: UnsafeMutablePointer<cs_insn>?
        let n = code.withUnsafeBufferPointer { buf in cs_disasm(handle, buf.baseAddress, buf.count, address, 1, &insn) }
        guard n > 0, let i = insn else { return nil }
        defer { cs_free(insn, n) }
        let ins = i.pointee
        let size = Int(ins.size)
        let bytes = withUnsafeBytes(of: ins.bytes) { Array($0.prefix(size)) }
        let mnemonic = withUnsafeBytes(of: ins.mnemonic) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let operands = withUnsafeBytes(of: ins.op_str) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var immediates: [Int: (value: Int64, size: UInt8)] = [:]
        if isX86, let detail = ins.detail {
            let x86 = detail.pointee.x86
            withUnsafeBytes(of: x86.operands) { raw in
                let ops = raw.bindMemory(to: cs_x86_op.self)
                for k in 0..<min(Int(x86.op_count), ops.count) where ops[k].type == X86_OP_IMM {
                    immediates[k] = (ops[k].imm, ops[k].size)
                }
            }
        }
        return Instruction(address: ins.address, bytes: bytes, mnemonic: mnemonic,
                           operands: isX86 ? Self.windbgOperands(operands, immediates: immediates) : operands.replacingOccurrences(of: ", ", with: ","))
    }

    /// Capstone's MASM operands in WinDbg's spelling: no spaces after commas or inside brackets
    /// (`qword ptr [rsp+10h]`), and a negative immediate as the unsigned value of its size
    /// (`cmp rax,0FFFFFFFFFFFFF000h`, where Capstone writes `-1000h`).
    static func windbgOperands(_ text: String, immediates: [Int: (value: Int64, size: UInt8)]) -> String {
        var parts: [String] = []
        var current = "", depth = 0
        for ch in text {
            if ch == "[" { depth += 1 } else if ch == "]" { depth -= 1 }
            if ch == ",", depth == 0 { parts.append(current); current = ""; continue }
            current.append(ch)
        }
        parts.append(current)
        parts = parts.map { $0.trimmingCharacters(in: .whitespaces) }
        for (k, imm) in immediates where k < parts.count && imm.value < 0 && parts[k].hasPrefix("-") {
            let bits = UInt64(max(1, min(8, Int(imm.size)))) * 8
            let mask: UInt64 = bits == 64 ? .max : (1 << bits) - 1
            parts[k] = hexImmediate(UInt64(bitPattern: imm.value) & mask)
        }
        return parts.map { part in
            let p = upperCaseHexNumerals(part)
            guard p.contains("[") else { return p }
            return p.replacingOccurrences(of: " + ", with: "+").replacingOccurrences(of: " - ", with: "-")
                .replacingOccurrences(of: " * ", with: "*")
        }.joined(separator: ",")
    }

    /// `0ffh` -> `0FFh`. A MASM hex numeral starts with a digit, so register names (`ch`, `bh`) are left alone.
    static func upperCaseHexNumerals(_ text: String) -> String {
        var out = "", word = ""
        func flush() {
            if word.count > 1, word.last == "h", word.first!.isNumber, word.dropLast().allSatisfy(\.isHexDigit) {
                out += word.dropLast().uppercased() + "h"
            } else {
                out += word
            }
            word = ""
        }
        for ch in text {
            if ch.isLetter || ch.isNumber { word.append(ch) } else { flush(); out.append(ch) }
        }
        flush()
        return out
    }

    /// WinDbg's number: decimal below 10, else upper-case hex with an `h` and a leading 0 before a letter.
    static func hexImmediate(_ v: UInt64) -> String {
        if v < 10 { return String(v) }
        let hex = String(v, radix: 16, uppercase: true)
        return (hex.first!.isLetter ? "0" : "") + hex + "h"
    }

    /// WinDbg's line for an instruction: address, bytes (padded to 16 columns), mnemonic (to 7), operands.
    /// Branch targets and rip-relative operands are shown as `module+0xoff (address)` when `name` knows them.
    public static func line(_ i: Instruction, address: String, format: (UInt64) -> String,
                            name: (UInt64) -> String?) -> String {
        var hex = i.bytes.lowercaseHex
        hex += String(repeating: " ", count: max(1, 16 - hex.count))
        var m = i.mnemonic
        if m.count < 7 { m += String(repeating: " ", count: 7 - m.count) }
        return "\(address) \(hex)\(m) \(symbolicOperands(i, format: format, name: name))".trimmingTrailingSpaces()
    }

    static func symbolicOperands(_ i: Instruction, format: (UInt64) -> String, name: (UInt64) -> String?) -> String {
        let ops = i.operands
        func label(_ target: UInt64) -> String {
            name(target).map { "\($0) (\(format(target)))" } ?? format(target)
        }
        let isBranch = i.mnemonic.hasPrefix("j") || i.mnemonic.hasPrefix("call") || i.mnemonic.hasPrefix("loop")
        if isBranch, ops.hasSuffix("h"), let target = UInt64(ops.dropLast(), radix: 16) {
            return label(target)
        }
        // [rip+1f45h] -> [module+0xoff (address)]
        for sign in ["+", "-"] {
            if let r = ops.range(of: "[rip" + sign), let close = ops[r.upperBound...].firstIndex(of: "]"),
               ops[r.upperBound..<close].hasSuffix("h"), let disp = UInt64(ops[r.upperBound..<close].dropLast(), radix: 16) {
                let next = i.address &+ UInt64(i.bytes.count)
                let target = sign == "+" ? next &+ disp : next &- disp
                return String(ops[..<r.lowerBound]) + "[" + label(target) + "]" + String(ops[ops.index(after: close)...])
            }
        }
        return ops
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
