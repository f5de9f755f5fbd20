import Logging
import NIOCore
import NIOPosix

/// Opens connections to the server a topology currently designates: the one server of a `redis://` URL, or the
/// master a Sentinel group names right now.
///
/// ``RedisClient``, ``RedisSubscriber`` and ``TransactionConnection`` connect through one shared connector, every
/// time they connect, so after a failover their next connection goes to the new master. For a Sentinel group the
/// connector also watches `+switch-master` and closes, at once, every connection it opened to a master that is no
/// longer one, so they reconnect (and the subscriber resubscribes) without waiting to notice on their own.
public final class RedisConnector: Sendable {
    public let topology: RedisTopology
    private let locator: SentinelLocator?

    /// - Parameter logger: for the Sentinel watch (failovers seen, sentinels that do not answer).
    public init(topology: RedisTopology, logger: Logger = Logger(label: "redis.sentinel")) {
        self.topology = topology
        if case .sentinel(let configuration) = topology {
            locator = SentinelLocator(configuration: configuration, logger: logger)
        } else {
            locator = nil
        }
    }

    public convenience init(configuration: RedisConfiguration) {
        self.init(topology: .single(configuration))
    }

    /// What errors and logs name: `host:port` (or the socket path) of one server, or the master and its sentinels.
    public var address: String {
        switch topology {
        case .single(let configuration): return configuration.address
        case .sentinel(let configuration): return configuration.summary
        case .cluster(let seeds): return seeds.displayURL
        }
    }

    /// The topology's URL with every password masked.
    public var displayURL: String { topology.displayURL }

    /// Connects to the current server (for a Sentinel group: finds the master, connects, checks its `ROLE`).
    ///
    /// - Parameter onPush: for subscriber connections: receives pub/sub pushes on the connection's event loop.
    public func connectFuture(
        eventLoop: any EventLoop, logger: Logger, onPush: (@Sendable (RedisReply) -> Void)? = nil
    ) -> EventLoopFuture<RedisConnection> {
        switch topology {
        case .single(let configuration):
            return RedisConnection.connectFuture(
                configuration: configuration, eventLoop: eventLoop, logger: logger, onPush: onPush)
        case .sentinel:
            let locator = locator!
            return eventLoop.makeFutureWithTask {
                try await locator.connectToMaster(eventLoop: eventLoop, logger: logger, onPush: onPush)
            }
        case .cluster:
            return eventLoop.makeFailedFuture(
                RedisError.unsupportedTopology("Redis Cluster is not supported by this build yet"))
        }
    }

    public func connect(
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(), logger: Logger = Logger(label: "redis"),
        onPush: (@Sendable (RedisReply) -> Void)? = nil
    ) async throws -> RedisConnection {
        try await RedisConnection.redisResult(connectFuture(eventLoop: eventLoop, logger: logger, onPush: onPush))
    }

    /// For a Sentinel group: the master's address as the sentinels last named it (nil before the first connect, and
    /// for other topologies).
    public var currentMaster: RedisHostPort? { locator?.currentMaster }

    /// Stops the Sentinel watch (connections already open stay open until their owners close them).
    public func close() async {
        await locator?.close()
    }
}
