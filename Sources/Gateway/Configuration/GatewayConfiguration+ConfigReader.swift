public import Configuration
import ServerSupport

extension GatewayConfiguration {
    /// Reads every setting from `reader` (scoped to ``SettingsReader/scope``, as `sse-gateway` builds it), each
    /// falling back to its default, and checks the values with rules beyond their type.
    ///
    /// - Throws: ``SettingError`` with one line naming the setting and what it expects, e.g.
    ///   `SSE_PORT="abc" is invalid: expected a port number`.
    public init(reader: ConfigReader) throws(SettingError) {
        self.init(nodeID: try reader.value(of: GatewaySettings.nodeID))
        host = try reader.value(of: SharedSettings.host)
        port = try reader.value(of: GatewaySettings.port)
        redisURL = try reader.value(of: SharedSettings.redisURL)
        heartbeatInterval = .settingSeconds(try reader.value(of: SharedSettings.heartbeatSeconds))
        historyLength = try reader.value(of: SharedSettings.historyLength)
        redisProbeInterval = .milliseconds(try reader.value(of: GatewaySettings.redisProbeIntervalMilliseconds))
        retryMilliseconds = try reader.value(of: GatewaySettings.retryMilliseconds)
        maxUnsentBytes = try reader.value(of: GatewaySettings.maxUnsentBytes)
        maxConnections = try reader.value(of: GatewaySettings.maxConnections)
        maxTopicsPerConnection = try reader.value(of: GatewaySettings.maxTopics)
        allowedOrigins = try reader.value(of: GatewaySettings.allowedOrigins)
        allowedHeaders = try reader.value(of: GatewaySettings.allowedHeaders)
        drainWindow = .settingSeconds(try reader.value(of: GatewaySettings.drainSeconds))
        requestHeadTimeout = .settingSeconds(try reader.value(of: GatewaySettings.requestTimeoutSeconds))
        maxHeaderBytes = try reader.value(of: GatewaySettings.maxHeaderBytes)
        bodyTimeout = .settingSeconds(try reader.value(of: GatewaySettings.bodyTimeoutSeconds))
        maxBodyBytes = try reader.value(of: GatewaySettings.maxBodyBytes)
        maxLoopBacklogBytes = try reader.value(of: GatewaySettings.maxLoopBacklog)
        threads = try reader.value(of: GatewaySettings.threads)
        trustedProxies = try TrustedProxies(parsing: reader.value(of: SharedSettings.trustedProxies))
        maxStreamsPerClient = try reader.value(of: GatewaySettings.maxStreamsPerClient)
        newStreams = TokenBucket.Rate(
            perSecond: try reader.value(of: GatewaySettings.newStreamsPerSecond),
            burst: try reader.value(of: GatewaySettings.newStreamsBurst))
        presenceEvents = try reader.value(of: GatewaySettings.presenceEvents)
        logLevel = try reader.value(of: SharedSettings.logLevel)
        access = try AccessConfiguration(reader: reader)
        metricsToken = try reader.value(of: GatewaySettings.metricsToken)
        try validate()
    }

    /// Checks the values that have rules beyond their type.
    public func validate() throws(SettingError) {
        // Header names are tokens (RFC 9110 §5.6.2); anything else would corrupt the preflight answer.
        let token = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        for name in allowedHeaders where name.isEmpty || !name.allSatisfy(token.contains) {
            throw SettingError(
                message: "SSE_ALLOWED_HEADERS entry \"\(name.prefix(60))\" is invalid: expected a header name")
        }
        guard maxStreamsPerClient >= 0, newStreams.perSecond >= 0, !newStreams.isLimited || newStreams.burst >= 1
        else {
            throw SettingError(
                message: "limits per client \(maxStreamsPerClient) streams, \(newStreams) are invalid: expected "
                    + "counts of 0 (no limit) or more, and a burst of at least 1 when new streams are limited")
        }
        guard redisProbeInterval >= .zero else {
            throw SettingError(
                message:
                    "SSE_REDIS_PROBE_INTERVAL_MS=\(redisProbeInterval) is invalid: expected milliseconds, 0 or more")
        }
        guard maxLoopBacklogBytes > 0 else {
            throw SettingError(message: "max loop backlog \(maxLoopBacklogBytes) is invalid: expected bytes > 0")
        }
        try access.validated()
    }
}
