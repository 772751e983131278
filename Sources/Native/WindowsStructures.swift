import DumpModel

/// The parts of the Windows TEB and PEB that `!teb` and `!peb` show, read from the dump's memory.
/// Offsets are those of the public ntdll symbols (_NT_TIB, _TEB, _PEB, _RTL_USER_PROCESS_PARAMETERS).
public struct ThreadEnvironmentBlock: Sendable {
    public let address: UInt64
    public let exceptionList, stackBase, stackLimit, subSystemTib, fiberData, arbitraryUserPointer, selfPointer: UInt64
    public let environmentPointer, processId, threadId, rpcHandle, tlsStorage, peb: UInt64
    public let lastErrorValue: UInt32
    public let lastStatusValue: UInt32?
    public let countOwnedLocks: UInt32
    public let hardErrorMode: UInt32?

    /// The PEB pointer alone (TEB.ProcessEnvironmentBlock), for `$peb` when the rest of the TEB may be missing.
    public static func pebAddress(memory: AddressSpace, teb: UInt64) -> UInt64? {
        memory.readPointer(teb &+ UInt64(12 * memory.pointerSize))
    }

    public init?(memory: AddressSpace, address: UInt64) {
        let wide = memory.pointerSize == 8
        let p = memory.pointerSize
        func ptr(_ i: Int) -> UInt64? { memory.readPointer(address &+ UInt64(i * p)) }
        guard let el = ptr(0), let sb = ptr(1), let sl = ptr(2), let st = ptr(3), let fd = ptr(4), let au = ptr(5),
              let sp = ptr(6), let ep = ptr(7), let pid = ptr(8), let tid = ptr(9), let rpc = ptr(10), let tls = ptr(11),
              let peb = ptr(12), let err = memory.readU32(address &+ UInt64(13 * p)) else { return nil }
        self.address = address
        exceptionList = el; stackBase = sb; stackLimit = sl; subSystemTib = st; fiberData = fd
        arbitraryUserPointer = au; selfPointer = sp; environmentPointer = ep; processId = pid; threadId = tid
        rpcHandle = rpc; tlsStorage = tls; self.peb = peb; lastErrorValue = err
        countOwnedLocks = memory.readU32(address &+ UInt64(13 * p) &+ 4) ?? 0
        lastStatusValue = memory.readU32(address &+ (wide ? 0x1250 : 0xBF4))
        hardErrorMode = memory.readU32(address &+ (wide ? 0x16B0 : 0xF28))
    }
}

public struct ProcessEnvironmentBlock: Sendable {
    public let address: UInt64
    public let inheritedAddressSpace, readImageFileExecOptions, beingDebugged: Bool
    public let imageBaseAddress, ldr, processParameters: UInt64
    public let ntGlobalFlag: UInt32?
    public let currentDirectory, dllPath, imagePathName, commandLine, windowTitle: String?
    public let environment: UInt64?

    public init?(memory: AddressSpace, address: UInt64) {
        let wide = memory.pointerSize == 8
        guard let flags = memory.readExact(address, count: 3),
              let base = memory.readPointer(address &+ (wide ? 0x10 : 0x08)),
              let ldr = memory.readPointer(address &+ (wide ? 0x18 : 0x0C)),
              let params = memory.readPointer(address &+ (wide ? 0x20 : 0x10)) else { return nil }
        self.address = address
        inheritedAddressSpace = flags[0] != 0
        readImageFileExecOptions = flags[1] != 0
        beingDebugged = flags[2] != 0
        imageBaseAddress = base
        self.ldr = ldr
        processParameters = params
        ntGlobalFlag = memory.readU32(address &+ (wide ? 0xBC : 0x68))
        func unicode(_ off: UInt64) -> String? {
            let at = params &+ off
            guard params != 0, let len = memory.readU16(at), let buf = memory.readPointer(at &+ (wide ? 8 : 4)) else { return nil }
            guard let bytes = memory.readExact(buf, count: Int(len & ~1)) else { return nil }
            return String(decodingUTF16LittleEndian: bytes)
        }
        currentDirectory = unicode(wide ? 0x38 : 0x24)
        dllPath = unicode(wide ? 0x50 : 0x30)
        imagePathName = unicode(wide ? 0x60 : 0x38)
        commandLine = unicode(wide ? 0x70 : 0x40)
        windowTitle = unicode(wide ? 0xB0 : 0x70)
        environment = params == 0 ? nil : memory.readPointer(params &+ (wide ? 0x80 : 0x48))
    }
}
