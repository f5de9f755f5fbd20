import Configuration
import NIOCore
public import ServerSupport

/// The gateway's own settings (the shared ones are in ``SharedSettings``): key, flag, variable and the one default
/// each ``GatewayConfiguration`` field starts from. The README's configuration table documents them.
public enum GatewaySettings {
    public static let port = Setting.port(default: 8080, summary: "Port to listen on")
    public static let nodeID = Setting.text(
        "nodeId", flag: "node-id", environment: "SSE_NODE_ID", default: GatewayConfiguration.defaultNodeID(),
        summary: "Node name in metrics and logs", documentedDefault: "`<hostname>-<pid>`")
    public static let retryMilliseconds = Setting.integer(
        "retryMs", flag: "retry-ms", environment: "SSE_RETRY_MS", default: 2000, expected: "milliseconds",
        summary: "retry: hint in milliseconds, plus up to 50 % jitter")
    public static let redisProbeIntervalMilliseconds = Setting.integer(
        "redisProbeIntervalMs", flag: "redis-probe-interval-ms", environment: "SSE_REDIS_PROBE_INTERVAL_MS",
        default: 1000, expected: "milliseconds",
        summary: "How often each Redis subscriber link publishes a probe to itself, 0 for never")
    public static let maxUnsentBytes = Setting.integer(
        "maxUnsentBytes", flag: "max-unsent-bytes", environment: "SSE_MAX_UNSENT_BYTES", default: 1 << 20,
        expected: "bytes", summary: "Unsent bytes before a client is cut as too slow")
    public static let maxConnections = Setting.integer(
        "maxConnections", flag: "max-connections", environment: "SSE_MAX_CONNECTIONS", default: 18_000,
        expected: "a count", summary: "Open streams allowed on this node")
    public static let maxTopics = Setting.integer(
        "maxTopics", flag: "max-topics", environment: "SSE_MAX_TOPICS", default: 32, expected: "a count",
        summary: "Topics per stream")
    public static let allowedOrigins = Setting.list(
        "allowedOrigins", flag: "allowed-origins", environment: "SSE_ALLOWED_ORIGINS", default: ["*"],
        summary: "Allowed browser origins, comma-separated, * for any")
    public static let allowedHeaders = Setting.list(
        "allowedHeaders", flag: "allowed-headers", environment: "SSE_ALLOWED_HEADERS", default: [],
        summary: "Extra request headers CORS preflights allow, comma-separated")
    public static let drainSeconds = Setting.seconds(
        "drainSeconds", flag: "drain-seconds", environment: "SSE_DRAIN_SECONDS", default: 10,
        summary: "Seconds over which streams are told to reconnect on SIGTERM")
    public static let requestTimeoutSeconds = Setting.seconds(
        "requestTimeoutSeconds", flag: "request-timeout", environment: "SSE_REQUEST_TIMEOUT_SECONDS", default: 10,
        summary: "Seconds allowed for a request head")
    public static let maxHeaderBytes = Setting.integer(
        "maxHeaderBytes", flag: "max-header-bytes", environment: "SSE_MAX_HEADER_BYTES", default: 16_384,
        expected: "bytes", summary: "Largest request head in bytes")
    public static let bodyTimeoutSeconds = Setting.seconds(
        "bodyTimeoutSeconds", flag: "body-timeout", environment: "SSE_BODY_TIMEOUT_SECONDS", default: 5,
        summary: "Seconds allowed for a request body after its head")
    public static let maxBodyBytes = Setting.integer(
        "maxBodyBytes", flag: "max-body-bytes", environment: "SSE_MAX_BODY_BYTES", default: 65536,
        expected: "bytes", summary: "Largest request body in bytes")
    public static let maxLoopBacklog = Setting.integer(
        "maxLoopBacklog", flag: "max-loop-backlog", environment: "SSE_MAX_LOOP_BACKLOG", default: 32 << 20,
        expected: "bytes", summary: "Bytes of events queued for one event loop before it sheds")
    public static let maxStreamsPerClient = Setting.integer(
        "maxStreamsPerClient", flag: "max-streams-per-client", environment: "SSE_MAX_STREAMS_PER_CLIENT",
        default: 1000, expected: "a count", summary: "Open streams one client address may hold, 0 for no limit")
    public static let newStreamsPerSecond = Setting.number(
        "newStreamsPerSecond", flag: "new-streams-per-second", environment: "SSE_NEW_STREAMS_PER_SECOND",
        default: 50, expected: "a rate", summary: "New streams per second per client address, 0 for no limit")
    public static let newStreamsBurst = Setting.integer(
        "newStreamsBurst", flag: "new-streams-burst", environment: "SSE_NEW_STREAMS_BURST", default: 500,
        expected: "a count", summary: "New streams one client address may open at once before the per-second rate")
    public static let tokenJWKS = Setting.list(
        "tokenJWKS", flag: "token-jwks", environment: "SSE_TOKEN_JWKS", default: [],
        summary: "JWKS files of verification keys (each key with `kid` and `alg`)")
    public static let tokenLeewaySeconds = Setting.seconds(
        "tokenLeewaySeconds", flag: "token-leeway", environment: "SSE_TOKEN_LEEWAY_SECONDS", default: 5,
        summary: "Clock leeway for `exp`, `nbf` and `iat`, in seconds")
    public static let tokenClaim = Setting.text(
        "tokenClaim", flag: "token-claim", environment: "SSE_TOKEN_CLAIM", default: "sse",
        summary: "The claim holding a token's grants (`subscribe`, `publish`)")
    public static let tokenInQuery = Setting.boolean(
        "tokenInQuery", flag: "token-in-query", environment: "SSE_TOKEN_IN_QUERY", default: false,
        summary: "Accept a token in the `access_token` query parameter (URLs reach logs)")
    public static let tokenExpirySpreadSeconds = Setting.seconds(
        "tokenExpirySpreadSeconds", flag: "token-expiry-spread", environment: "SSE_TOKEN_EXPIRY_SPREAD_SECONDS",
        default: 30, summary: "A stream ends up to this much (at most a tenth of its token's life) before `exp`")
    public static let publicTopics = Setting.list(
        "publicTopics", flag: "public-topic", environment: "SSE_PUBLIC_TOPICS", default: [],
        summary: "Topic patterns anyone may read once keys are set (`board`, `news.*`, `*`)")
    public static let metricsToken = Setting.secret(
        "metricsToken", flag: "metrics-token", environment: "SSE_METRICS_TOKEN",
        summary: "Bearer token /sse-metrics, /metrics and /sse-health require; unset: open")
    public static let threads = Setting.integer(
        "threads", flag: "threads", environment: "SSE_THREADS", default: System.coreCount, expected: "a count",
        summary: "Event-loop threads", documentedDefault: "one per core")
    public static let presenceEvents = Setting.boolean(
        "presenceEvents", flag: "presence-events", environment: "SSE_PRESENCE_EVENTS", default: false,
        summary: "Publish join/leave on <topic>.presence for a subject's first and last stream on the node")
}

extension GatewayConfiguration {
    /// Every setting `sse-gateway` reads, in the order of its `--help`.
    public static let settings: [SettingDescriptor] = [
        SharedSettings.host.descriptor, GatewaySettings.port.descriptor, SharedSettings.redisURL.descriptor,
        GatewaySettings.nodeID.descriptor, SharedSettings.heartbeatSeconds.descriptor,
        SharedSettings.historyLength.descriptor, GatewaySettings.redisProbeIntervalMilliseconds.descriptor,
        GatewaySettings.retryMilliseconds.descriptor,
        GatewaySettings.maxUnsentBytes.descriptor, GatewaySettings.maxConnections.descriptor,
        GatewaySettings.maxTopics.descriptor, GatewaySettings.allowedOrigins.descriptor,
        GatewaySettings.allowedHeaders.descriptor, GatewaySettings.drainSeconds.descriptor,
        GatewaySettings.requestTimeoutSeconds.descriptor, GatewaySettings.maxHeaderBytes.descriptor,
        GatewaySettings.bodyTimeoutSeconds.descriptor, GatewaySettings.maxBodyBytes.descriptor,
        GatewaySettings.maxLoopBacklog.descriptor, GatewaySettings.threads.descriptor,
        SharedSettings.trustedProxies.descriptor, GatewaySettings.maxStreamsPerClient.descriptor,
        GatewaySettings.newStreamsPerSecond.descriptor, GatewaySettings.newStreamsBurst.descriptor,
        SharedSettings.tokenKeys.descriptor, GatewaySettings.tokenJWKS.descriptor,
        SharedSettings.tokenIssuer.descriptor, SharedSettings.tokenAudience.descriptor,
        GatewaySettings.tokenLeewaySeconds.descriptor, GatewaySettings.tokenClaim.descriptor,
        SharedSettings.tokenCookie.descriptor, GatewaySettings.tokenInQuery.descriptor,
        GatewaySettings.tokenExpirySpreadSeconds.descriptor, GatewaySettings.publicTopics.descriptor,
        GatewaySettings.metricsToken.descriptor, GatewaySettings.presenceEvents.descriptor,
        SharedSettings.logLevel.descriptor,
    ]
}
