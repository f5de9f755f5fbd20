#if canImport(Glibc)
    import Glibc
#endif

/// Resolves one setting: the command-line flag wins, then the environment variable, then the default.
/// A value that does not parse is an error naming the variable and what was expected.
public enum Setting {
    public static func resolve<Value: LosslessStringConvertible>(
        _ flag: Value?, environment name: String, default defaultValue: Value, expected: String
    ) throws -> Value {
        if let flag { return flag }
        guard let raw = environmentValue(name) else { return defaultValue }
        guard let value = Value(raw) else {
            throw SettingError(message: "\(name)=\"\(raw)\" is invalid: expected \(expected)")
        }
        return value
    }

    /// A duration given in (fractional) seconds, e.g. `SSE_DRAIN_SECONDS=2.5`.
    public static func resolveSeconds(_ flag: Double?, environment name: String, default defaultValue: Double)
        throws -> Duration
    {
        let seconds = try resolve(flag, environment: name, default: defaultValue, expected: "seconds")
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// A list setting: comma-separated in the environment, repeated or comma-separated on the command line.
    public static func resolveList(_ flag: [String], environment name: String, default defaultValue: [String])
        -> [String]
    {
        let raw = flag.isEmpty ? environmentValue(name).map { [$0] } ?? [] : flag
        let values = raw.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        return values.isEmpty ? defaultValue : values
    }

    public static func environmentValue(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// Raises the soft open-file limit to the hard limit: every stream is a file descriptor.
    @discardableResult
    public static func raiseFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(limit.rlim_cur)
    }
}

public struct SettingError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
