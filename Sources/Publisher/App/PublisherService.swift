import Hummingbird
import Logging
import RedisClient
import SSEProtocol
import ServiceLifecycle

/// The publisher as one `Service`: the HTTP server (Hummingbird) with the board, the publish API and the probes,
/// plus the Redis connections they share.
///
/// Run it in a `ServiceGroup`; on graceful shutdown (SIGTERM/SIGINT there) the server stops accepting, finishes the
/// requests in flight, and the Redis connections are closed. Start-up does not wait for Redis: the server listens
/// at once (`/healthz` answers, `/readyz` says why it is not ready), and ``LibraryWatch`` loads the function
/// libraries in the background and again within a second whenever Redis lost them.
public struct PublisherService: Service {
    let configuration: PublisherConfiguration
    let logger: Logger

    /// Seconds a client connection may sit idle (between requests, or mid-request without sending) before it is
    /// closed. Longer than nginx's upstream keep-alive (60 s by default), so nginx always closes an idle upstream
    /// connection first and never sends a request (a POST it cannot retry) on one this side is closing.
    static let idleTimeoutSeconds: Int64 = 75

    public init(configuration: PublisherConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        try configuration.validate()
        let resources = try PublisherResources.directory()
        let views = try await BoardViews.load(directory: resources + "/templates")
        let engine = EngineScript(text: try PublisherResources.engineScript())
        let redisConfiguration = try RedisConfiguration(
            url: configuration.redisURL, connectTimeout: configuration.redisTimeout)
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        let transactions = TransactionConnection(
            configuration: redisConfiguration, timeout: configuration.redisTimeout, logger: logger)
        let store = BoardStore(
            redis: redis, boardLength: configuration.boardLength, timeout: configuration.redisTimeout)

        let board = BoardController(
            store: store,
            publisher: BoardPublisher(
                transactions: transactions, historyLength: configuration.historyLength, logger: logger),
            views: views,
            settings: .init(
                topic: BoardLibrary.topic.name, sseURL: configuration.sseBaseURL,
                heartbeatSeconds: configuration.heartbeatSeconds, engineVersion: engine.fingerprint),
            crossSite: CrossSitePolicy(publicOrigins: configuration.publicOrigins),
            logger: logger)
        let publish = PublishController(
            token: configuration.enabledPublishToken.map(BearerToken.init), store: store,
            historyLength: configuration.historyLength,
            idempotencyWindowSeconds: configuration.idempotencyWindowSeconds, logger: logger)
        let responder = PublisherResponder(
            board: board, publish: publish, datastar: DatastarTestController(), health: HealthController(store: store),
            engine: engine, logger: logger)

        let logger = self.logger
        let app = Application(
            responder: responder,
            // Connections idle this long are closed, so abandoned keep-alive connections cannot pile up.
            // A request must arrive whole within the deadline; bodies are bounded by the largest route limit.
            server: .guardedHTTP1(
                idleTimeout: .seconds(Self.idleTimeoutSeconds),
                deadline: .nanoseconds(Int64(configuration.requestDeadlineSeconds * 1_000_000_000)),
                maximumBodyBytes: PublishRequest.maximumBodyBytes),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { channel in
                logger.info(
                    "listening",
                    metadata: [
                        "sse.address": "\(channel.localAddress.map { "\($0)" } ?? "?")",
                        "sse.publish_api": "\(configuration.enabledPublishToken == nil ? "disabled" : "enabled")",
                    ])
            },
            logger: logger)

        logger.info("starting", metadata: ["sse.redis": "\(redisConfiguration.displayURL)"])
        // The watch has a connection of its own: its check timing out on a hung Redis closes only that one, not
        // the connection requests are waiting on.
        let watchRedis = RedisClient(configuration: redisConfiguration, logger: logger)
        let watchStore = BoardStore(
            redis: watchRedis, boardLength: configuration.boardLength, timeout: configuration.redisTimeout)
        let installer = Task { await LibraryWatch(store: watchStore, logger: logger).run() }
        defer { installer.cancel() }
        try await app.run()
        installer.cancel()
        await transactions.close()
        await redis.close()
        await watchRedis.close()
        logger.info("stopped")
    }

}

extension PublisherService: CustomStringConvertible {
    /// What ServiceLifecycle logs for the service: no settings, so the publish token never reaches a log.
    public var description: String { "PublisherService" }
}
