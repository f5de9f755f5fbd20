import Logging
import NIOCore
import ServerSupport

/// Everything a gateway node can be told, with production defaults. Each field has one key, flag, environment
/// variable and default (``GatewaySettings``, ``SharedSettings``, the README's table); ``init(reader:)`` resolves
/// them, the library only reads the result.
public struct GatewayConfiguration: Sendable {
    /// Address to listen on (`--host`, `SSE_HOST`).
    public var host = SharedSettings.host.defaultValue
    /// Port to listen on (`--port`, `SSE_PORT`); 0 picks a free one (tests).
    public var port = GatewaySettings.port.defaultValue
    /// Redis to subscribe to and read history from (`--redis-url`, `SSE_REDIS_URL`).
    public var redisURL = SharedSettings.redisURL.defaultValue
    /// This node's name in metrics and logs (`--node-id`, `SSE_NODE_ID`); default host name and pid.
    public var nodeID: String
    /// A comment is sent on a stream idle this long, so proxies keep it open (`--heartbeat`, `SSE_HEARTBEAT_SECONDS`).
    public var heartbeatInterval = Duration.seconds(SharedSettings.heartbeatSeconds.defaultValue)
    /// The history length publishers keep per topic (`--history-length`, `SSE_HISTORY_LENGTH`). Retention itself is
    /// the `maxlen` each reliable publish passes (ssectl uses the same variable); a node uses this to bound one
    /// replay at `2 × N + 100` events per topic: a client further behind gets `resync` instead.
    public var historyLength = SharedSettings.historyLength.defaultValue
    /// How often each Redis subscriber link publishes a probe to itself through its server and expects it back
    /// (`--redis-probe-interval-ms`, `SSE_REDIS_PROBE_INTERVAL_MS`); zero turns probing off. A probe not back within
    /// ``redisProbeTimeout`` closes the link, which reconnects, resubscribes and backfills; until a probe succeeds
    /// again the node is not ready. Each costs one publish per link (and one command connection per link).
    public var redisProbeInterval = Duration.milliseconds(GatewaySettings.redisProbeIntervalMilliseconds.defaultValue)
    /// Three probe intervals, and at least one second: a link is replaced only when its server has not delivered
    /// for that long.
    public var redisProbeTimeout: Duration { max(redisProbeInterval * 3, .seconds(1)) }
    /// The `retry:` hint sent when a stream opens (`--retry-ms`, `SSE_RETRY_MS`); a random 0–50 % is added per
    /// client so reconnects spread out.
    public var retryMilliseconds = GatewaySettings.retryMilliseconds.defaultValue
    /// Bytes a client may leave unsent before it is cut as a slow consumer (`--max-unsent-bytes`,
    /// `SSE_MAX_UNSENT_BYTES`). It resumes from history when it reconnects.
    public var maxUnsentBytes = GatewaySettings.maxUnsentBytes.defaultValue
    /// Open SSE streams allowed on this node (`--max-connections`, `SSE_MAX_CONNECTIONS`); more get 503.
    public var maxConnections = GatewaySettings.maxConnections.defaultValue
    /// Topics one stream may follow (`--max-topics`, `SSE_MAX_TOPICS`).
    public var maxTopicsPerConnection = GatewaySettings.maxTopics.defaultValue
    /// Origins allowed to open streams (`--allowed-origins`, `SSE_ALLOWED_ORIGINS`, comma-separated); `*` allows
    /// any. Requests without an Origin header (same-origin, non-browser) are always allowed.
    public var allowedOrigins = GatewaySettings.allowedOrigins.defaultValue
    /// Request headers a CORS preflight allows besides the standard ones (``CORSPolicy/standardHeaders``)
    /// (`--allowed-headers`, `SSE_ALLOWED_HEADERS`, comma-separated).
    public var allowedHeaders = GatewaySettings.allowedHeaders.defaultValue
    /// On SIGTERM, open streams are told to reconnect spread across this window (`--drain-seconds`,
    /// `SSE_DRAIN_SECONDS`); the process exits within the window plus 5 s.
    public var drainWindow = Duration.seconds(GatewaySettings.drainSeconds.defaultValue)
    /// A request head not complete within this time closes the connection (`--request-timeout`,
    /// `SSE_REQUEST_TIMEOUT_SECONDS`).
    public var requestHeadTimeout = Duration.seconds(GatewaySettings.requestTimeoutSeconds.defaultValue)
    /// A request body (no route takes one) must be complete within this time after its head, or the request gets
    /// 408 and the connection closes (`--body-timeout`, `SSE_BODY_TIMEOUT_SECONDS`).
    public var bodyTimeout = Duration.seconds(GatewaySettings.bodyTimeoutSeconds.defaultValue)
    /// The largest request body read (and dropped: no route takes one); a larger one gets 413 and the connection
    /// closes (`--max-body-bytes`, `SSE_MAX_BODY_BYTES`).
    public var maxBodyBytes = GatewaySettings.maxBodyBytes.defaultValue
    /// Request heads larger than this get 431 (`--max-header-bytes`, `SSE_MAX_HEADER_BYTES`).
    public var maxHeaderBytes = GatewaySettings.maxHeaderBytes.defaultValue
    /// Bytes of event frames waiting for one event loop before the node stops handing that loop live events
    /// (`--max-loop-backlog`, `SSE_MAX_LOOP_BACKLOG`). The Redis subscription is read on a thread of its own and
    /// keeps being read; once the loop has worked its backlog down to a quarter of this, its streams of the
    /// skipped topics catch up from history (or get `resync` where history no longer reaches back).
    public var maxLoopBacklogBytes = GatewaySettings.maxLoopBacklog.defaultValue
    /// Event-loop threads for client connections (`--threads`, `SSE_THREADS`); default one per core. The Redis
    /// subscription has one more thread of its own.
    public var threads = GatewaySettings.threads.defaultValue
    /// Peers whose `X-Forwarded-For` names the client the limits per client count against (`--trusted-proxy`,
    /// `SSE_TRUSTED_PROXIES`); none by default, so the peer is the client.
    public var trustedProxies = TrustedProxies.none
    /// Open streams one client address may hold (`--max-streams-per-client`, `SSE_MAX_STREAMS_PER_CLIENT`); more get
    /// 429; 0 for no limit. 1000 by default: one address can take at most 1/18 of a node's default 18,000 streams,
    /// so no single host can fill a node, while an office or a carrier-grade NAT with hundreds of users behind one
    /// IPv4 address (each browser holds one stream for all its tabs with engine.js) is not cut off.
    public var maxStreamsPerClient = GatewaySettings.maxStreamsPerClient.defaultValue
    /// New streams per client address (`--new-streams-per-second`, `SSE_NEW_STREAMS_PER_SECOND`, `--new-streams-burst`,
    /// `SSE_NEW_STREAMS_BURST`): a token bucket; more get 429. 50 a second with a burst of 500 by default: after a
    /// node fails, its clients come back within their 2–3 s `retry:`, so half of an address's open-stream allowance
    /// may reconnect at once; a client stuck in a reconnect loop costs the node at most 50 stream opens (each a
    /// history read) a second. A per-second rate of 0 lifts the limit.
    public var newStreams = TokenBucket.Rate(
        perSecond: GatewaySettings.newStreamsPerSecond.defaultValue,
        burst: GatewaySettings.newStreamsBurst.defaultValue)
    /// Private topics: the token keys, claims checks and where tokens come from (the README's "Security").
    public var access = AccessConfiguration()
    /// The bearer token `/sse-metrics`, `/metrics` and `/sse-health` require (`--metrics-token`,
    /// `SSE_METRICS_TOKEN`); nil or empty: they are open, as the probes always are (``MetricsAccess``). A secret:
    /// never logged, never repeated in an answer.
    public var metricsToken = GatewaySettings.metricsToken.defaultValue
    /// Publish `join`/`leave` on `<topic>.presence` when a subject's first stream of a topic opens on this node or
    /// its last closes (`--presence-events`, `SSE_PRESENCE_EVENTS`); off by default. See the README's "Nodes and
    /// presence".
    public var presenceEvents = GatewaySettings.presenceEvents.defaultValue
    /// Level of every logger (`--log-level`, `SSE_LOG_LEVEL`); logs go to standard error.
    public var logLevel = SharedSettings.logLevel.defaultValue

    public init(nodeID: String = GatewaySettings.nodeID.defaultValue) {
        self.nodeID = nodeID
    }

    /// `<hostname>-<pid>`.
    public static func defaultNodeID() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let name = gethostname(&buffer, buffer.count) == 0 ? String(cString: buffer) : "node"
        return "\(name)-\(getpid())"
    }
}

#if canImport(Glibc)
    import Glibc
#endif
