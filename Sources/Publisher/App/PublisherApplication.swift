import Foundation
import Hummingbird
import Logging
import NIOPosix
import RedisClient
import SSEHistory
import SSEProtocol
import ServerSupport
import Synchronization

/// The publisher's Hummingbird application and the Redis connections its handlers share, built from a
/// configuration.
///
/// ``PublisherService`` runs it as the `sse-publisher` executable; the tests drive the same application in process
/// (HummingbirdTesting's router framework), so a check of one HTTP answer needs no publisher process. Building it
/// connects to nothing: every Redis connection opens on first use, so a Redis URL pointing at nothing is fine for
/// requests that never reach Redis.
struct PublisherApplication {
    /// The HTTP application: the routes of ``PublisherRouter`` behind the guarded HTTP/1 server.
    let app: Application<RouterResponder<PublisherRequestContext>>
    /// The board's model in Redis, as the handlers use it (the tests load the function libraries through it).
    let store: BoardStore
    /// Where the Redis connections go (one server or a Sentinel group's master; on a Cluster any node, for the
    /// control channel); shared by every connection.
    let redisConnector: RedisConnector
    /// The parsed `SSE_REDIS_URL`.
    let topology: RedisTopology
    /// The revocations scoped publish tokens are checked against; nil without token keys. Subscribed by
    /// ``start()``.
    let revocations: PublishRevocations?
    private let redis: PublisherRedis
    private let transactions: TransactionConnection
    /// The Cluster client's slot map read and periodic refresh (nil on one Redis).
    private let clusterStart = StartedTask()
    /// The check of acknowledged events after a failover (``AcknowledgementWatch``).
    let acknowledgements: AcknowledgementWatch
    private let acknowledgementRounds = StartedTask()

    /// Seconds a client connection may sit idle (between requests, or mid-request without sending) before it is
    /// closed. Longer than nginx's upstream keep-alive (60 s by default), so nginx always closes an idle upstream
    /// connection first and never sends a request (a POST it cannot retry) on one this side is closing.
    static let idleTimeoutSeconds: Int64 = 75

    /// Validates `configuration`, loads the templates and `engine.js`, and wires the controllers.
    init(configuration: PublisherConfiguration, logger: Logger) async throws {
        try configuration.validate()
        let tokens = try await configuration.tokens()
        let resources = try PublisherResources.directory()
        let views = try await BoardViews.load(directory: resources + "/templates")
        let engine = EngineScript(text: try PublisherResources.engineScript())
        let topology = try RedisTopology(url: configuration.redisURL, connectTimeout: configuration.redisTimeout)
        let redis = PublisherRedis(topology: topology, logger: logger)
        // On a Cluster: the control channel on any node, the board's transactions on its slot's primary.
        let redisConnector: RedisConnector
        let transactionConnector: RedisConnector
        var cluster: RedisClusterClient?
        switch redis {
        case .single(let client):
            redisConnector = client.connector
            transactionConnector = client.connector
        case .cluster(let client):
            cluster = client
            redisConnector = RedisConnector(cluster: client)
            transactionConnector = RedisConnector(cluster: client, slotOf: BoardLibrary.publishedKey)
        }
        let transactions = TransactionConnection(
            connector: transactionConnector, timeout: configuration.redisTimeout, logger: logger)
        let acknowledged = AcknowledgedEvents()
        var store = BoardStore(
            redis: redis, boardLength: configuration.boardLength, timeout: configuration.redisTimeout)
        store.acknowledged = acknowledged

        let board = BoardController(
            store: store,
            publisher: BoardPublisher(
                transactions: transactions, historyLength: configuration.historyLength, logger: logger,
                cluster: cluster, timeout: configuration.redisTimeout, acknowledged: acknowledged),
            views: views,
            settings: .init(
                topic: BoardLibrary.topic.name, sseURL: configuration.sseBaseURL,
                heartbeatSeconds: configuration.heartbeatSeconds, engineVersion: engine.fingerprint),
            crossSite: CrossSitePolicy(publicOrigins: configuration.publicOrigins),
            postRate: PostRateLimit(rate: configuration.postRate, trustedProxies: configuration.trustedProxies),
            visitors: tokens.visitors,
            tokenRate: PostRateLimit(
                rate: .perMinute(
                    BoardController.tokenRefreshesPerMinute, burst: Int(BoardController.tokenRefreshesPerMinute)),
                trustedProxies: configuration.trustedProxies, what: "token requests", label: "token_rate"),
            logger: logger)
        let revocations = tokens.publishVerifier.map { _ in
            PublishRevocations(logger: logger) { [store] in
                try await store.withHistory("ZRANGEBYSCORE sse:revocations") { history in
                    try await history.revocations(now: Date().timeIntervalSince1970)
                }
            }
        }
        let publish = PublishController(
            token: configuration.enabledPublishToken.map(BearerToken.init), verifier: tokens.publishVerifier,
            revocations: revocations, store: store,
            historyLength: configuration.historyLength,
            idempotencyWindowSeconds: configuration.idempotencyWindowSeconds, logger: logger)
        let responder = PublisherRouter.responder(
            routes: PublisherRouter.routes(
                board: board, publish: publish, datastar: DatastarTestController(),
                health: HealthController(store: store), engine: engine,
                dashboard: DashboardController(
                    store: store, script: EngineScript(text: try PublisherResources.dashboardScript()),
                    sseURL: configuration.sseBaseURL, logger: logger)),
            logger: logger)

        let publishAPI =
            switch (configuration.enabledPublishToken, tokens.publishVerifier) {
            case (nil, nil): "disabled"
            case (_?, nil): "static token"
            case (nil, _?): "scoped tokens"
            case (_?, _?): "static and scoped tokens"
            }
        app = Application(
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
                        "sse.publish_api": "\(publishAPI)",
                        "sse.visitor_tokens": "\(tokens.visitors == nil ? "off" : "on")",
                    ])
            },
            logger: logger)
        self.store = store
        self.redisConnector = redisConnector
        self.topology = topology
        self.revocations = revocations
        self.redis = redis
        self.transactions = transactions
        acknowledgements = AcknowledgementWatch(
            redis: redis, acknowledged: acknowledged, historyLength: configuration.historyLength,
            timeout: configuration.redisTimeout, logger: logger)
    }

    /// Starts what runs beside the handlers: the control-channel subscription behind ``revocations``, the check of
    /// acknowledged events after a failover, and on a Cluster the slot map's periodic refresh.
    func start() {
        let started = redis.start()
        clusterStart.task.withLock { $0 = started }
        let acknowledgements = self.acknowledgements
        acknowledgementRounds.task.withLock { $0 = Task { await acknowledgements.run() } }
        revocations?.start(connector: redisConnector, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
    }

    /// Closes the Redis connections the handlers share (after the server has stopped).
    func close() async {
        clusterStart.task.withLock { $0 }?.cancel()
        acknowledgementRounds.task.withLock { $0 }?.cancel()
        await revocations?.close()
        await transactions.close()
        await redis.close()
    }
}

/// A background task started by ``PublisherApplication/start()`` and cancelled by its `close()`.
private final class StartedTask: Sendable {
    let task = Mutex<Task<Void, Never>?>(nil)
}
