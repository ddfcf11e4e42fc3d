/// The distinct resolved settings of a machine's keys, each kept once and shared by number: a
/// platform with 200 000 keys over 20 tools holds about 20 of them, not 200 000 copies.
struct SettingsTable: Sendable {
    private var all: [BreakerSettings] = []
    private var numbers: [BreakerSettings: UInt32] = [:]
    /// Per tool number: the settings of its keys whose tenant has no override of its own.
    private var byTool: [UInt32: UInt32] = [:]

    /// The settings numbered `n`, read in place.
    @inline(__always)
    subscript(n: UInt32) -> BreakerSettings {
        _read { yield all[Int(n)] }
    }

    /// The number of the settings `configuration` gives `key`.
    mutating func number(for key: BreakerKey, tenant: UInt32, tool: UInt32, in configuration: BreakerConfiguration) -> UInt32 {
        let tenantOverrides =
            (!configuration.tenants.isEmpty && configuration.tenants[key.tenant] != nil)
            || (!configuration.tenantSettings.isEmpty && configuration.tenantSettings[key.tenant]?.enforce != nil)
        if !tenantOverrides, let n = byTool[tool] { return n }
        let n = intern(configuration.settings(for: key))
        if !tenantOverrides { byTool[tool] = n }
        return n
    }

    private mutating func intern(_ s: BreakerSettings) -> UInt32 {
        if let n = numbers[s] { return n }
        let n = UInt32(all.count)
        all.append(s)
        numbers[s] = n
        return n
    }

    /// Forgets every resolution (a new configuration is in force).
    mutating func removeAll() { self = SettingsTable() }

    /// How many distinct settings are kept.
    var count: Int { all.count }
}
