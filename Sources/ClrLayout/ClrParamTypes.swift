import DumpModel

extension ClrRuntime {
    /// Every TypeHandle in the loaded modules' available-param-types tables: the generic instantiations, arrays
    /// and pointer types the runtime has built, whether or not an object leads to them (a field typed
    /// `List<__Canon>` in shared code names one). Read once; bounded against damaged tables.
    func constructedTypeHandles() -> [UInt64] {
        if let constructedTypeHandlesCache { return constructedTypeHandlesCache }
        var modules: [UInt64] = []
        if let app = domains()?.app { modules = app.assemblies.flatMap { $0.modules.map(\.address) } }
        if let core = coreLib?.address, !modules.contains(core) { modules.insert(core, at: 0) }
        var out: [UInt64] = []
        var seen = Set<UInt64>()
        for m in modules where out.count < Self.constructedTypeLimit {
            for th in paramTypeTable(of: m) where seen.insert(th).inserted { out.append(th) }
        }
        constructedTypeHandlesCache = out
        return out
    }

    static let constructedTypeLimit = 1_000_000

    /// False for a TypeDesc the runtime has not finished loading (3.1's `__Canon[]` is one): the DAC does not
    /// return those. MethodTables are taken as they are.
    func isFullyLoadedHandle(_ th: UInt64) -> Bool {
        guard th & 2 != 0 else { return true }
        guard let flags = target.u32(th & ~3) else { return false }
        return flags & layout.paramTypes.typeDescNotFullyLoaded == 0
    }

    /// The TypeHandles of one module's table, in bucket order.
    func paramTypeTable(of module: UInt64) -> [UInt64] {
        let l = layout.paramTypes, t = target
        guard let table = t.u64(module &+ l.moduleAvailableParamTypes), table != 0, table & 7 == 0,
              t.u64(table) == module else { return [] }   // the table's first field points back at its module
        var out: [UInt64] = []
        var entries = Set<UInt64>()
        func chain(_ first: UInt64, endsAtOdd: Bool) {
            var e = first
            while e != 0, !(endsAtOdd && e & 1 == 1), e & 7 == 0, out.count < Self.constructedTypeLimit, entries.insert(e).inserted {
                if let th = t.u64(e &+ l.entryTypeHandle).map({ $0 & ~1 }), th != 0, isFullyLoadedHandle(th) { out.append(th) }
                e = t.u64(e &+ l.entryNext) ?? 0
            }
        }
        guard var buckets = t.u64(table &+ l.tableBuckets), buckets != 0 else { return [] }
        switch l.shape {
        case .countedBuckets(let countOffset):
            guard let count = t.u32(table &+ countOffset), count < 1 << 24 else { return [] }
            for i in 0..<UInt64(count) { chain(t.u64(buckets &+ i &* 8) ?? 0, endsAtOdd: false) }
        case .sentinelBuckets:
            // A resize in progress leaves a newer array in slot 1: walk each array once.
            var arrays = Set<UInt64>()
            while buckets != 0, buckets & 7 == 0, arrays.insert(buckets).inserted, arrays.count < 16 {
                guard let count = t.u64(buckets), count < 1 << 24 else { break }
                for i in 0..<count { chain(t.u64(buckets &+ (3 &+ i) &* 8) ?? 0, endsAtOdd: true) }
                buckets = t.u64(buckets &+ 8) ?? 0
            }
        }
        return out
    }
}
