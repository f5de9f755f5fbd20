import Logging

extension Setting {
    /// Resolves `--log-level` / `SSE_LOG_LEVEL` (default `info`) and sends every logger to standard error at that
    /// level. Called once, before the first `Logger` is made.
    public static func bootstrapLogging(level flag: String?) throws {
        let raw = try resolve(flag, environment: "SSE_LOG_LEVEL", default: "info", expected: "a log level")
        guard let level = Logger.Level(rawValue: raw) else {
            throw SettingError(
                message: "log level \"\(raw)\" is invalid: use trace, debug, info, notice, warning, error or critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
