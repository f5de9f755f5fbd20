import Logging
import NIOCore
import NIOPosix

extension RedisClusterClient {
    /// A client on the seeds of a `redis-cluster://` URL, with the cluster's credentials and connect timeout for
    /// every node.
    public convenience init(
        seeds: ClusterSeeds, options: Options = Options(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "redis.cluster")
    ) {
        precondition(!seeds.seeds.isEmpty, "a Redis Cluster URL names at least one seed")
        self.init(
            seeds: seeds.seeds.map { .tcp(host: $0.host, port: $0.port) }, configuration: seeds.node(seeds.seeds[0]),
            options: options, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// The seeds and credentials as a topology value (for ``RedisConnector`` and what logs name).
    public var clusterSeeds: ClusterSeeds {
        ClusterSeeds(
            seeds: seeds.compactMap { endpoint in
                if case .tcp(let host, let port) = endpoint { return RedisHostPort(host: host, port: port) }
                return nil
            }, username: template.username, password: template.password, connectTimeout: template.connectTimeout)
    }

    /// The configuration of one node: the template's credentials and timeouts with the node's endpoint.
    func configuration(of endpoint: RedisConfiguration.Endpoint) -> RedisConfiguration {
        var configuration = template
        configuration.endpoint = endpoint
        return configuration
    }

    /// The primary serving `key`'s slot in the current map, read once more when the slot is not covered.
    public func primary(forKey key: String) async throws -> RedisConfiguration.Endpoint {
        let slot = HashSlot(key: key)
        if let endpoint = try await slotMap().primary(for: slot) { return endpoint }
        if let endpoint = try await refreshSlotMap().primary(for: slot) { return endpoint }
        throw RedisClusterError.slotNotCovered(slot)
    }
}
