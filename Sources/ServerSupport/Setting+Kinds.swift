public import Configuration

/// The kinds of value settings have, each with its parser, its error and how the README writes its default.
///
/// Every value is read as text and parsed here rather than through the reader's typed getters: those fall back to
/// the default when a value does not convert, and a mistyped `SSE_PORT` must stop the process instead.
extension Setting where Value == Int {
    /// A whole number, e.g. a count or a size in bytes; `expected` ends the error (`a count`, `bytes`).
    public static func integer(
        _ key: ConfigKey, flag: String, environment: String, default value: Int, expected: String, summary: String,
        documentedDefault: String? = nil
    ) -> Setting {
        Setting(
            key: key, flag: flag, environmentVariable: environment, default: value,
            documentedDefault: documentedDefault ?? "`\(value)`", summary: summary
        ) { raw throws(SettingError) in
            guard let number = Int(raw) else { throw invalid(environment, raw, expected: expected) }
            return number
        }
    }

    /// A port to listen on; `0` picks a free one.
    public static func port(default value: Int, summary: String) -> Setting {
        integer(
            "port", flag: "port", environment: "SSE_PORT", default: value, expected: "a port number", summary: summary)
    }
}

extension Setting where Value == Double {
    /// A duration in (fractional) seconds, e.g. `SSE_DRAIN_SECONDS=2.5`.
    public static func seconds(
        _ key: ConfigKey, flag: String, environment: String, default value: Double, summary: String
    ) -> Setting {
        let shown = value == value.rounded() ? "\(Int(value))" : "\(value)"
        return Setting(
            key: key, flag: flag, environmentVariable: environment, default: value, documentedDefault: "`\(shown)`",
            summary: summary
        ) { raw throws(SettingError) in
            guard let seconds = Double(raw), seconds.isFinite else {
                throw invalid(environment, raw, expected: "seconds")
            }
            return seconds
        }
    }
}

extension Setting where Value == Double {
    /// A number that may have a fraction, e.g. a rate (`SSE_NEW_STREAMS_PER_SECOND=0.5`); `expected` ends the error.
    public static func number(
        _ key: ConfigKey, flag: String, environment: String, default value: Double, expected: String, summary: String
    ) -> Setting {
        let shown = value == value.rounded() ? "\(Int(value))" : "\(value)"
        return Setting(
            key: key, flag: flag, environmentVariable: environment, default: value, documentedDefault: "`\(shown)`",
            summary: summary
        ) { raw throws(SettingError) in
            guard let number = Double(raw), number.isFinite else { throw invalid(environment, raw, expected: expected) }
            return number
        }
    }
}

extension Setting where Value == String {
    /// Free text such as an address or a URL; any text parses (rules, if any, are checked by the configuration).
    public static func text(
        _ key: ConfigKey, flag: String, environment: String, default value: String, summary: String,
        documentedDefault: String? = nil
    ) -> Setting {
        Setting(
            key: key, flag: flag, environmentVariable: environment, default: value,
            documentedDefault: documentedDefault ?? (value.isEmpty ? "empty" : "`\(value)`"), summary: summary
        ) { raw in raw }
    }
}

extension Setting where Value == Bool {
    /// A switch: `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    public static func boolean(
        _ key: ConfigKey, flag: String, environment: String, default value: Bool, summary: String
    ) -> Setting {
        Setting(
            key: key, flag: flag, environmentVariable: environment, default: value,
            documentedDefault: "`\(value)`", summary: summary
        ) { raw throws(SettingError) in
            switch raw.lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: throw invalid(environment, raw, expected: "true or false")
            }
        }
    }
}

extension Setting where Value == String? {
    /// A secret such as a token: unset by default, redacted by swift-configuration, never repeated in a message.
    public static func secret(_ key: ConfigKey, flag: String, environment: String, summary: String) -> Setting {
        Setting(
            key: key, flag: flag, environmentVariable: environment, default: nil, documentedDefault: "unset",
            summary: summary, isSecret: true
        ) { raw in raw }
    }
}

extension Setting where Value == [String] {
    /// A list: comma-separated in the variable; on the command line the flag may be repeated, each value
    /// comma-separated too. Spaces around entries are dropped, empty entries ignored; no entry means the default.
    /// `entry` checks each entry (throwing its one-line error), so a bad one stops the process at start.
    public static func list(
        _ key: ConfigKey, flag: String, environment: String, default value: [String], summary: String,
        entry check: (@Sendable (String) throws(SettingError) -> Void)? = nil
    ) -> Setting {
        Setting(
            key: key, flag: flag, environmentVariable: environment, default: value,
            documentedDefault: value.isEmpty ? "none" : "`\(value.joined(separator: ","))`", summary: summary
        ) { raw throws(SettingError) in
            let entries = raw.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
            if let check { for entry in entries { try check(entry) } }
            return entries.isEmpty ? value : entries
        }
    }
}

/// `SSE_PORT="abc" is invalid: expected a port number`.
func invalid(_ environment: String, _ raw: String, expected: String) -> SettingError {
    SettingError(message: "\(environment)=\"\(raw)\" is invalid: expected \(expected)")
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

extension Duration {
    /// A duration from a setting in (fractional) seconds, to the millisecond.
    public static func settingSeconds(_ seconds: Double) -> Duration {
        .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
