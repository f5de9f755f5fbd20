public import Configuration
import ServerSupport

extension PublisherConfiguration {
    /// Reads every setting from `reader` (scoped to ``SettingsReader/scope``, as `sse-publisher` builds it), each
    /// falling back to its default, then checks them with ``validate()``.
    ///
    /// - Throws: ``SettingError`` with one line naming the setting and what it expects, e.g.
    ///   `SSE_PORT="abc" is invalid: expected a port number` or `board length 0 is invalid: expected 1–1000 posts`.
    public init(reader: ConfigReader) throws(SettingError) {
        self.init()
        host = try reader.value(of: SharedSettings.host)
        port = try reader.value(of: PublisherSettings.port)
        redisURL = try reader.value(of: SharedSettings.redisURL)
        publishToken = try reader.value(of: PublisherSettings.publishToken)
        publicSSEURL = try reader.value(of: PublisherSettings.publicSSEURL)
        heartbeatSeconds = try reader.value(of: SharedSettings.heartbeatSeconds)
        historyLength = try reader.value(of: SharedSettings.historyLength)
        boardLength = try reader.value(of: PublisherSettings.boardLength)
        redisTimeoutSeconds = try reader.value(of: PublisherSettings.redisTimeoutSeconds)
        publicOrigins = try reader.value(of: PublisherSettings.publicOrigins)
        idempotencyWindowSeconds = try reader.value(of: SharedSettings.idempotencyWindowSeconds)
        requestDeadlineSeconds = try reader.value(of: PublisherSettings.requestDeadlineSeconds)
        trustedProxies = try TrustedProxies(parsing: reader.value(of: SharedSettings.trustedProxies))
        postRate = .perMinute(
            try reader.value(of: PublisherSettings.postRate), burst: try reader.value(of: PublisherSettings.postBurst))
        tokenSigningKey = try reader.value(of: PublisherSettings.tokenSigningKey)
        tokenKeys = try reader.value(of: SharedSettings.tokenKeys)
        tokenLifetimeSeconds = try reader.value(of: PublisherSettings.tokenLifetimeSeconds)
        tokenCookie = try reader.value(of: SharedSettings.tokenCookie)
        tokenIssuer = try reader.value(of: SharedSettings.tokenIssuer)
        tokenAudience = try reader.value(of: SharedSettings.tokenAudience)
        logLevel = try reader.value(of: SharedSettings.logLevel)
        do {
            try validate()
            // The key files are read here too, so a bad one stops the process at start with one line.
            try validateTokens()
        } catch {
            throw SettingError(message: error.description)
        }
    }
}
