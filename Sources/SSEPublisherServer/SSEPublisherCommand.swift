import ArgumentParser
import Logging
import Publisher
import ServerSupport
import ServiceLifecycle
import UnixSignals

/// `sse-publisher`: the live board demo and the publish API. Every flag also reads an environment variable (named
/// in its help); the flag wins, then the variable, then the default.
@main
struct SSEPublisherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse-publisher", abstract: "Serve the live board demo and the publish API.")

    @Option(help: "Address to listen on [SSE_HOST, default 127.0.0.1].") var host: String?
    @Option(help: "Port to listen on, 0 for any free one [SSE_PORT, default 8090].") var port: Int?
    @Option(help: "Redis URL [SSE_REDIS_URL, default redis://127.0.0.1:6379].") var redisURL: String?
    @Option(
        help: "Bearer token POST /publish requires; unset disables the API [SSE_PUBLISH_TOKEN, prefer the variable].")
    var publishToken: String?
    @Option(
        help: "Gateway base URL the page connects to, empty for the page's origin [SSE_PUBLIC_SSE_URL, default empty].")
    var sseURL: String?
    @Option(help: "Gateway heartbeat interval the page assumes, in seconds [SSE_HEARTBEAT_SECONDS, default 15].")
    var heartbeat: Double?
    @Option(help: "History cap (maxlen) passed with each publish [SSE_HISTORY_LENGTH, default 1000].")
    var historyLength: Int?
    @Option(help: "Posts the board keeps and shows [SSE_BOARD_LENGTH, default 50].") var boardLength: Int?
    @Option(help: "Seconds a request waits for Redis before answering 503 [SSE_REDIS_TIMEOUT_SECONDS, default 2].")
    var redisTimeout: Double?
    @Option(
        help: "Origins whose pages may post to /add_post besides the request's own [SSE_PUBLIC_ORIGINS, default none].")
    var publicOrigins: [String] = []
    @Option(help: "Seconds an Idempotency-Key answers its first id [SSE_IDEMPOTENCY_WINDOW_SECONDS, default 86400].")
    var idempotencyWindow: Int?
    @Option(help: "Seconds a whole request may take to arrive before 408 [SSE_REQUEST_DEADLINE_SECONDS, default 30].")
    var requestDeadline: Double?
    @Option(help: "trace, debug, info, notice, warning, error or critical [SSE_LOG_LEVEL, default info].")
    var logLevel: String?

    func run() async throws {
        var configuration = PublisherConfiguration()
        let defaults = configuration
        configuration.host = try Setting.resolve(
            host, environment: "SSE_HOST", default: defaults.host, expected: "an address")
        configuration.port = try Setting.resolve(
            port, environment: "SSE_PORT", default: defaults.port, expected: "a port number")
        configuration.redisURL = try Setting.resolve(
            redisURL, environment: "SSE_REDIS_URL", default: defaults.redisURL, expected: "redis://host:port[/db]")
        configuration.publishToken = publishToken ?? Setting.environmentValue("SSE_PUBLISH_TOKEN")
        configuration.publicSSEURL = try Setting.resolve(
            sseURL, environment: "SSE_PUBLIC_SSE_URL", default: defaults.publicSSEURL, expected: "a URL")
        configuration.heartbeatSeconds = try Setting.resolve(
            heartbeat, environment: "SSE_HEARTBEAT_SECONDS", default: defaults.heartbeatSeconds, expected: "seconds")
        configuration.historyLength = try Setting.resolve(
            historyLength, environment: "SSE_HISTORY_LENGTH", default: defaults.historyLength, expected: "a count")
        configuration.boardLength = try Setting.resolve(
            boardLength, environment: "SSE_BOARD_LENGTH", default: defaults.boardLength, expected: "a count")
        configuration.redisTimeoutSeconds = try Setting.resolve(
            redisTimeout, environment: "SSE_REDIS_TIMEOUT_SECONDS", default: defaults.redisTimeoutSeconds,
            expected: "seconds")
        configuration.publicOrigins = Setting.resolveList(
            publicOrigins, environment: "SSE_PUBLIC_ORIGINS", default: defaults.publicOrigins)
        configuration.idempotencyWindowSeconds = try Setting.resolve(
            idempotencyWindow, environment: "SSE_IDEMPOTENCY_WINDOW_SECONDS",
            default: defaults.idempotencyWindowSeconds, expected: "seconds")
        configuration.requestDeadlineSeconds = try Setting.resolve(
            requestDeadline, environment: "SSE_REQUEST_DEADLINE_SECONDS", default: defaults.requestDeadlineSeconds,
            expected: "seconds")
        do {
            try configuration.validate()
        } catch {
            throw ValidationError(error.description)
        }

        try Setting.bootstrapLogging(level: logLevel)
        let logger = Logger(label: "sse-publisher")
        let services = ServiceGroup(
            configuration: .init(
                services: [PublisherService(configuration: configuration, logger: logger)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
    }
}
