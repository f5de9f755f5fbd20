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

    public init(configuration: PublisherConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let publisher = try await PublisherApplication(configuration: configuration, logger: logger)
        let redisConnector = publisher.redisConnector
        let logger = self.logger

        logger.info("starting", metadata: ["sse.redis": "\(redisConnector.displayURL)"])
        // The watch has a connection of its own: its check timing out on a hung Redis closes only that one, not
        // the connection requests are waiting on.
        let watchRedis: PublisherRedis =
            switch publisher.topology {
            case .cluster(let seeds): .cluster(RedisClusterClient(seeds: seeds, logger: logger))
            case .single, .sentinel: .single(RedisClient(connector: redisConnector, logger: logger))
            }
        let watchStore = BoardStore(
            redis: watchRedis, boardLength: configuration.boardLength, timeout: configuration.redisTimeout)
        let watchStart = watchRedis.start()
        let installer = Task { await LibraryWatch(store: watchStore, logger: logger).run() }
        defer {
            installer.cancel()
            watchStart?.cancel()
        }
        publisher.start()
        try await publisher.app.run()
        installer.cancel()
        await publisher.close()
        await watchRedis.close()
        await redisConnector.close()
        logger.info("stopped")
    }

}

extension PublisherService: CustomStringConvertible {
    /// What ServiceLifecycle logs for the service: no settings, so the publish token never reaches a log.
    public var description: String { "PublisherService" }
}
