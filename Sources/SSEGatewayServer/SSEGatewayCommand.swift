import ArgumentParser
import Gateway
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import ServerSupport
import ServiceLifecycle
import UnixSignals

/// `sse-gateway`: one gateway node. Every flag also reads an environment variable (named in its help).
@main
struct SSEGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse-gateway",
        abstract: "Serve Server-Sent Events to browsers, relaying what is published through Redis.")

    @Option(help: "Address to listen on [SSE_HOST, default 127.0.0.1].") var host: String?
    @Option(help: "Port to listen on [SSE_PORT, default 8080].") var port: Int?
    @Option(help: "Redis URL [SSE_REDIS_URL, default redis://127.0.0.1:6379].") var redisURL: String?
    @Option(help: "Node name in metrics and logs [SSE_NODE_ID, default hostname-pid].") var nodeID: String?
    @Option(help: "Heartbeat comment after this many idle seconds [SSE_HEARTBEAT_SECONDS, default 15].")
    var heartbeat: Double?
    @Option(
        help:
            "History length publishers keep per topic; bounds one replay at 2N+100 events [SSE_HISTORY_LENGTH, default 1000]."
    )
    var historyLength: Int?
    @Option(help: "retry: hint in milliseconds, plus up to 50 % jitter [SSE_RETRY_MS, default 2000].")
    var retryMs: Int?
    @Option(help: "Unsent bytes before a client is cut as too slow [SSE_MAX_UNSENT_BYTES, default 1048576].")
    var maxUnsentBytes: Int?
    @Option(help: "Open streams allowed on this node [SSE_MAX_CONNECTIONS, default 18000].") var maxConnections: Int?
    @Option(help: "Topics per stream [SSE_MAX_TOPICS, default 32].") var maxTopics: Int?
    @Option(help: "Allowed browser origins, comma-separated, * for any [SSE_ALLOWED_ORIGINS, default *].")
    var allowedOrigins: [String] = []
    @Option(
        help: "Extra request headers CORS preflights allow, comma-separated [SSE_ALLOWED_HEADERS, default none].")
    var allowedHeaders: [String] = []
    @Option(help: "Seconds over which streams are told to reconnect on SIGTERM [SSE_DRAIN_SECONDS, default 10].")
    var drainSeconds: Double?
    @Option(help: "Seconds allowed for a request head [SSE_REQUEST_TIMEOUT_SECONDS, default 10].")
    var requestTimeout: Double?
    @Option(help: "Largest request head in bytes [SSE_MAX_HEADER_BYTES, default 16384].") var maxHeaderBytes: Int?
    @Option(help: "Seconds allowed for a request body after its head [SSE_BODY_TIMEOUT_SECONDS, default 5].")
    var bodyTimeout: Double?
    @Option(help: "Largest request body in bytes [SSE_MAX_BODY_BYTES, default 65536].") var maxBodyBytes: Int?
    @Option(help: "Bytes of events queued for one event loop before it sheds [SSE_MAX_LOOP_BACKLOG, default 33554432].")
    var maxLoopBacklog: Int?
    @Option(help: "Event-loop threads [SSE_THREADS, default: one per core].") var threads: Int?
    @Option(help: "trace, debug, info, notice, warning, error or critical [SSE_LOG_LEVEL, default info].")
    var logLevel: String?

    /// Header names are tokens (RFC 9110 §5.6.2); anything else would corrupt the preflight answer.
    static func validateHeaderNames(_ names: [String]) throws {
        let token = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        for name in names where name.isEmpty || !name.allSatisfy(token.contains) {
            throw ValidationError("SSE_ALLOWED_HEADERS entry \"\(name.prefix(60))\" is invalid: expected a header name")
        }
    }

    func run() async throws {
        var configuration = GatewayConfiguration(
            nodeID: try Setting.resolve(
                nodeID, environment: "SSE_NODE_ID", default: GatewayConfiguration.defaultNodeID(), expected: "a name"))
        let defaults = configuration
        configuration.host = try Setting.resolve(
            host, environment: "SSE_HOST", default: defaults.host, expected: "an address")
        configuration.port = try Setting.resolve(
            port, environment: "SSE_PORT", default: defaults.port, expected: "a port number")
        configuration.redisURL = try Setting.resolve(
            redisURL, environment: "SSE_REDIS_URL", default: defaults.redisURL, expected: "redis://host:port[/db]")
        configuration.heartbeatInterval = try Setting.resolveSeconds(
            heartbeat, environment: "SSE_HEARTBEAT_SECONDS", default: 15.0)
        configuration.historyLength = try Setting.resolve(
            historyLength, environment: "SSE_HISTORY_LENGTH", default: defaults.historyLength, expected: "a count")
        configuration.retryMilliseconds = try Setting.resolve(
            retryMs, environment: "SSE_RETRY_MS", default: defaults.retryMilliseconds, expected: "milliseconds")
        configuration.maxUnsentBytes = try Setting.resolve(
            maxUnsentBytes, environment: "SSE_MAX_UNSENT_BYTES", default: defaults.maxUnsentBytes, expected: "bytes")
        configuration.maxConnections = try Setting.resolve(
            maxConnections, environment: "SSE_MAX_CONNECTIONS", default: defaults.maxConnections, expected: "a count")
        configuration.maxTopicsPerConnection = try Setting.resolve(
            maxTopics, environment: "SSE_MAX_TOPICS", default: defaults.maxTopicsPerConnection, expected: "a count")
        configuration.allowedOrigins = Setting.resolveList(
            allowedOrigins, environment: "SSE_ALLOWED_ORIGINS", default: defaults.allowedOrigins)
        configuration.allowedHeaders = Setting.resolveList(
            allowedHeaders, environment: "SSE_ALLOWED_HEADERS", default: defaults.allowedHeaders)
        try Self.validateHeaderNames(configuration.allowedHeaders)
        configuration.drainWindow = try Setting.resolveSeconds(
            drainSeconds, environment: "SSE_DRAIN_SECONDS", default: 10.0)
        configuration.requestHeadTimeout = try Setting.resolveSeconds(
            requestTimeout, environment: "SSE_REQUEST_TIMEOUT_SECONDS", default: 10.0)
        configuration.maxHeaderBytes = try Setting.resolve(
            maxHeaderBytes, environment: "SSE_MAX_HEADER_BYTES", default: defaults.maxHeaderBytes, expected: "bytes")
        configuration.bodyTimeout = try Setting.resolveSeconds(
            bodyTimeout, environment: "SSE_BODY_TIMEOUT_SECONDS", default: 5.0)
        configuration.maxBodyBytes = try Setting.resolve(
            maxBodyBytes, environment: "SSE_MAX_BODY_BYTES", default: defaults.maxBodyBytes, expected: "bytes")
        configuration.maxLoopBacklogBytes = try Setting.resolve(
            maxLoopBacklog, environment: "SSE_MAX_LOOP_BACKLOG", default: defaults.maxLoopBacklogBytes,
            expected: "bytes")
        guard configuration.maxLoopBacklogBytes > 0 else {
            throw ValidationError(
                "max loop backlog \(configuration.maxLoopBacklogBytes) is invalid: expected bytes > 0")
        }
        configuration.threads = try Setting.resolve(
            threads, environment: "SSE_THREADS", default: defaults.threads, expected: "a count")
        try Setting.bootstrapLogging(level: logLevel)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "sse-gateway")
        let files = Setting.raiseFileLimit()
        logger.info("starting", metadata: ["sse.node": "\(configuration.nodeID)", "sse.file_limit": "\(files)"])

        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        let gateway = try Gateway(
            configuration: configuration, group: group, logger: logger,
            renderPrometheus: {
                var bytes: [UInt8] = []
                registry.emit(into: &bytes)
                return String(decoding: bytes, as: UTF8.self)
            })
        let services = ServiceGroup(
            configuration: .init(services: [gateway], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
        try await group.shutdownGracefully()
    }
}
