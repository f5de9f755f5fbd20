public import Configuration

/// One setting of a program: its configuration key, flag, environment variable, default and parser, in one place.
///
/// A configuration's `init(reader:)` reads every field through its `Setting`, and each program lists its settings
/// (``SettingDescriptor``) so that `--help`, the README's table and the code cannot drift apart: a test compares
/// the table with these lists. The key is relative to the ``SettingsReader/scope`` (`sse`), so swift-configuration's
/// environment provider maps `redisUrl` to `SSE_REDIS_URL`; ``environmentVariable`` names it for messages and docs.
public struct Setting<Value: Sendable>: Sendable {
    /// The key read from the scoped `ConfigReader`, e.g. `redisUrl`.
    public let key: ConfigKey
    /// The long flag without its dashes, e.g. `redis-url`.
    public let flag: String
    /// The environment variable, e.g. `SSE_REDIS_URL`.
    public let environmentVariable: String
    /// The value when neither the flag nor the variable is given.
    public let defaultValue: Value
    /// The default as the README's table writes it: `` `1000` ``, `none`, `empty`, `unset`, `one per core`.
    public let documentedDefault: String
    /// One sentence for `--help`; the variable and the default are added by ``help``.
    public let summary: String
    /// A secret is read with `isSecret`, so swift-configuration redacts it in access logs and descriptions, and no
    /// message of ours repeats it.
    public let isSecret: Bool
    /// Turns the raw text into the value, or throws the one-line error naming the variable.
    let parse: @Sendable (String) throws(SettingError) -> Value

    public init(
        key: ConfigKey, flag: String, environmentVariable: String, default defaultValue: Value,
        documentedDefault: String, summary: String, isSecret: Bool = false,
        parse: @escaping @Sendable (String) throws(SettingError) -> Value
    ) {
        self.key = key
        self.flag = flag
        self.environmentVariable = environmentVariable
        self.defaultValue = defaultValue
        self.documentedDefault = documentedDefault
        self.summary = summary
        self.isSecret = isSecret
        self.parse = parse
    }

    /// The `--help` text: the summary, then the variable and the default, e.g.
    /// `Port to listen on [SSE_PORT, default 8080].`
    public var help: String {
        let shownDefault = documentedDefault.filter { $0 != "`" }
        return "\(summary) [\(environmentVariable), default \(shownDefault)]."
    }

    /// The setting without its value type, for lists of a program's settings.
    public var descriptor: SettingDescriptor {
        let parse = self.parse
        return SettingDescriptor(
            key: key, flag: flag, environmentVariable: environmentVariable, documentedDefault: documentedDefault,
            isSecret: isSecret, help: help, repeatable: Value.self == [String].self
        ) { raw throws(SettingError) in _ = try parse(raw) }
    }
}

/// A setting without its value type: what the README's table documents for it, what `--help` says, and how a
/// flag's text is checked (``SettingsReader/init(arguments:settings:)``).
public struct SettingDescriptor: Sendable, Hashable {
    public let key: ConfigKey
    public let flag: String
    public let environmentVariable: String
    public let documentedDefault: String
    public let isSecret: Bool
    /// ``Setting/help``.
    public let help: String
    /// A list setting: its flag may be given several times.
    public let repeatable: Bool
    /// Parses a value and forgets it: throws the setting's one-line error when it does not parse.
    let check: @Sendable (String) throws(SettingError) -> Void

    init(
        key: ConfigKey, flag: String, environmentVariable: String, documentedDefault: String, isSecret: Bool,
        help: String, repeatable: Bool, check: @escaping @Sendable (String) throws(SettingError) -> Void
    ) {
        self.key = key
        self.flag = flag
        self.environmentVariable = environmentVariable
        self.documentedDefault = documentedDefault
        self.isSecret = isSecret
        self.help = help
        self.repeatable = repeatable
        self.check = check
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.key == rhs.key && lhs.flag == rhs.flag }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
        hasher.combine(flag)
    }
}

/// A setting whose value does not parse or breaks its rule; the message is one line saying what was expected.
public struct SettingError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}
