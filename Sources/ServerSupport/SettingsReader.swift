public import Configuration

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Builds the `ConfigReader` every program reads its settings from: the flags it parsed, then the environment.
///
/// Flags stay with swift-argument-parser, which gives `--help`, subcommands, positional arguments and typed
/// checks (swift-configuration's command-line provider has none of these, and our flags are not its key-derived
/// names: `--heartbeat` is `SSE_HEARTBEAT_SECONDS`). Each flag that was given becomes an in-memory value under its
/// setting's key, in front of the environment provider, so the reader resolves flag, then variable, then (in
/// ``ConfigReader/value(of:)``) the setting's default.
public struct SettingsReader: Sendable {
    /// Every setting's key lives under this scope; the environment provider maps `sse.redisUrl` to `SSE_REDIS_URL`.
    public static let scope: ConfigKey = "sse"

    private var flags: [AbsoluteConfigKey: ConfigValue] = [:]
    private var secretVariables: Set<String> = []

    public init() {}

    /// Records a flag's value when it was given.
    public mutating func flag<Value>(_ setting: Setting<Value>, _ value: (some CustomStringConvertible)?) {
        note(setting)
        guard let value else { return }
        flags[Self.absoluteKey(setting.key)] = ConfigValue(.string(value.description), isSecret: setting.isSecret)
    }

    /// Records a repeatable flag's values (each may itself be comma-separated) when any was given.
    public mutating func flag(_ setting: Setting<[String]>, _ values: [String]) {
        note(setting)
        guard !values.isEmpty else { return }
        flags[Self.absoluteKey(setting.key)] = ConfigValue(
            .string(values.joined(separator: ",")), isSecret: setting.isSecret)
    }

    /// A flag's text under its setting's key (``init(arguments:settings:)``).
    mutating func record(_ setting: SettingDescriptor, _ value: String) {
        flags[Self.absoluteKey(setting.key)] = ConfigValue(.string(value), isSecret: setting.isSecret)
    }

    mutating func noteSecret(_ environmentVariable: String) {
        secretVariables.insert(environmentVariable)
    }

    /// Marks a setting the program reads without a flag, so a secret one is still redacted.
    public mutating func note<Value>(_ setting: Setting<Value>) {
        if setting.isSecret { secretVariables.insert(setting.environmentVariable) }
    }

    /// The reader, scoped to ``scope``. An empty variable counts as unset, as a missing one.
    ///
    /// `accessReporter` sees every read (secrets redacted); `CONFIG_ACCESS_LOG_FILE=path` makes swift-configuration
    /// log them to a file too, which is how to see where each value came from.
    public func reader(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        accessReporter: (any AccessReporter)? = nil
    ) -> ConfigReader {
        let variables = environment.filter { !$0.value.isEmpty }
        let reader = ConfigReader(
            providers: [
                InMemoryProvider(name: "flags", values: flags),
                EnvironmentVariablesProvider(
                    environmentVariables: variables, secretsSpecifier: .specific(secretVariables)),
            ], accessReporter: accessReporter)
        return reader.scoped(to: Self.scope)
    }

    static func absoluteKey(_ key: ConfigKey) -> AbsoluteConfigKey {
        AbsoluteConfigKey(scope.components + key.components)
    }
}

extension ConfigReader {
    /// The setting's value: the first provider that has its key, parsed, or the default when none has it.
    /// A value that does not parse throws the setting's one-line error instead of falling back to the default.
    public func value<Value>(of setting: Setting<Value>) throws(SettingError) -> Value {
        guard let raw = string(forKey: setting.key, isSecret: setting.isSecret) else { return setting.defaultValue }
        return try setting.parse(raw)
    }
}
