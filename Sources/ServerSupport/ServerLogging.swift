import Logging

/// Logging of the servers: every logger writes to standard error at the configured level.
public enum ServerLogging {
    /// Sends every logger to standard error at `level` (``SharedSettings/logLevel``). Called once, before the first
    /// `Logger` is made.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
