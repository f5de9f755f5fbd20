import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Opens connections to the server a topology currently designates: the one server of a `redis://` URL, the
/// master a Sentinel group names right now, or a node of a Redis Cluster.
///
/// ``RedisClient``, ``RedisSubscriber`` and ``TransactionConnection`` connect through one shared connector, every
/// time they connect, so after a failover their next connection goes to the new master. For a Sentinel group the
/// connector also watches `+switch-master` and closes, at once, every connection it opened to a master that is no
/// longer one, so they reconnect (and the subscriber resubscribes) without waiting to notice on their own.
///
/// **On a Redis Cluster** there are two kinds of connection:
/// - *Any node* (``init(topology:logger:)`` with a `.cluster` topology, or ``init(cluster:)``): for what every node
///   serves alike, above all the classic `SUBSCRIBE sse:control` (a Cluster broadcasts a classic `PUBLISH` to
///   every node, so any node hears every control message) and a classic `PUBLISH` to it. Each connect tries the
///   nodes in turn (with ``init(cluster:)`` first the nodes of the client's slot map, primaries first, then the
///   seeds), each within the connect timeout, and fails with ``RedisError/connectFailed(address:cause:)`` naming
///   every address tried and why it failed.
/// - *One slot's primary* (``init(cluster:slotOf:)``): for what must stay on one connection and one slot, such as a
///   `WATCH`/`MULTI`/`EXEC` transaction on keys of one hash tag. Each connect asks the cluster client's slot map
///   for the slot's current primary (reading the map again when it does not cover the slot, or when that primary
///   cannot be reached); after a `MOVED` the caller refreshes the map (``RedisClusterClient/refreshSlotMap()``),
///   closes the connection, and the next connect goes to the new owner.
public final class RedisConnector: Sendable {
    public let topology: RedisTopology
    private let locator: SentinelLocator?
    /// The slot map's client on a Cluster (nil: the seeds alone), and the key whose slot's primary connections go
    /// to (nil: any node).
    private let cluster: RedisClusterClient?
    private let routingKey: String?
    /// Any-node connections: the addresses whose last connect failed, tried after the others (a frozen node takes
    /// every attempt's whole connect timeout).
    private let failedNodes = Mutex<Set<String>>([])

    /// - Parameter logger: for the Sentinel watch (failovers seen, sentinels that do not answer).
    public init(topology: RedisTopology, logger: Logger = Logger(label: "redis.sentinel")) {
        self.topology = topology
        if case .sentinel(let configuration) = topology {
            locator = SentinelLocator(configuration: configuration, logger: logger)
        } else {
            locator = nil
        }
        cluster = nil
        routingKey = nil
    }

    /// Connections to any node of `cluster` (its slot map's nodes, then its seeds).
    public init(cluster: RedisClusterClient) {
        topology = .cluster(cluster.clusterSeeds)
        locator = nil
        self.cluster = cluster
        routingKey = nil
    }

    /// Connections to the primary that serves `key`'s slot in `cluster`'s slot map at the time of each connect.
    public init(cluster: RedisClusterClient, slotOf key: String) {
        topology = .cluster(cluster.clusterSeeds)
        locator = nil
        self.cluster = cluster
        routingKey = key
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
        case .cluster(let seeds):
            let (cluster, routingKey) = (self.cluster, self.routingKey)
            return eventLoop.makeFutureWithTask {
                if let cluster, let routingKey {
                    return try await Self.connectToPrimary(
                        of: routingKey, in: cluster, eventLoop: eventLoop, logger: logger, onPush: onPush)
                }
                return try await self.connectToAnyNode(
                    seeds: seeds, cluster: cluster, eventLoop: eventLoop, logger: logger, onPush: onPush)
            }
        }
    }

    /// Tries the slot map's nodes (primaries first) and then the seeds, in turn, until one connects; nodes whose
    /// last connect failed go last.
    private func connectToAnyNode(
        seeds: ClusterSeeds, cluster: RedisClusterClient?, eventLoop: any EventLoop, logger: Logger,
        onPush: (@Sendable (RedisReply) -> Void)?
    ) async throws -> RedisConnection {
        var candidates: [RedisConfiguration] = []
        if let cluster, let map = try? await cluster.slotMap() {
            candidates += (map.primaries + map.allEndpoints).map(cluster.configuration(of:))
        }
        candidates += seeds.seeds.map(seeds.node)
        let failed = failedNodes.withLock { $0 }
        candidates =
            candidates.filter { !failed.contains($0.address) } + candidates.filter { failed.contains($0.address) }
        var tried: [String] = []
        var failures: [String] = []
        for configuration in candidates where !tried.contains(configuration.address) {
            tried.append(configuration.address)
            do {
                let connection = try await RedisConnection.connect(
                    configuration: configuration, eventLoop: eventLoop, logger: logger, onPush: onPush)
                _ = failedNodes.withLock { $0.remove(configuration.address) }
                return connection
            } catch {
                _ = failedNodes.withLock { $0.insert(configuration.address) }
                failures.append("\(configuration.address): \(error)")
            }
        }
        throw RedisError.connectFailed(
            address: "any node of \(seeds.displayURL) (tried \(tried.joined(separator: ", ")))",
            cause: failures.joined(separator: "; "))
    }

    /// Connects to the primary of `key`'s slot; when it cannot be reached, reads the slot map again and tries the
    /// primary it names then (a replica may have taken over).
    private static func connectToPrimary(
        of key: String, in cluster: RedisClusterClient, eventLoop: any EventLoop, logger: Logger,
        onPush: (@Sendable (RedisReply) -> Void)?
    ) async throws -> RedisConnection {
        let first = try await cluster.primary(forKey: key)
        do {
            return try await RedisConnection.connect(
                configuration: cluster.configuration(of: first), eventLoop: eventLoop, logger: logger, onPush: onPush)
        } catch {
            _ = try? await cluster.refreshSlotMap()
            let second = try await cluster.primary(forKey: key)
            guard second != first else { throw error }
            return try await RedisConnection.connect(
                configuration: cluster.configuration(of: second), eventLoop: eventLoop, logger: logger, onPush: onPush)
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
