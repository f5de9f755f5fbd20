import Logging
import RedisClient
import SSEHistory
import Synchronization

/// Where the publisher's commands go: one Redis (or a Sentinel group's master) through one reconnecting client, or
/// a Redis Cluster, where each command goes to the primary of its key's slot.
///
/// On a Cluster every call of ``BoardStore`` names its routing key: the board's keys and the board topic's stream
/// share the hash tag `{board}`, so the board's model lives on one shard; a publish goes to its topic's shard
/// (``History``'s Cluster mode), the revocations to the slot of `sse:revocations`.
enum PublisherRedis: Sendable {
    case single(RedisClient)
    case cluster(RedisClusterClient)

    /// Builds the client for `topology` (connecting to nothing yet).
    init(topology: RedisTopology, logger: Logger) {
        switch topology {
        case .cluster(let seeds):
            self = .cluster(RedisClusterClient(seeds: seeds, logger: logger))
        case .single, .sentinel:
            self = .single(RedisClient(connector: RedisConnector(topology: topology, logger: logger), logger: logger))
        }
    }

    /// What errors name: the server, the Sentinel group or the Cluster's seeds.
    var address: String {
        switch self {
        case .single(let client): return client.connector.address
        case .cluster(let cluster): return cluster.clusterSeeds.displayURL
        }
    }

    /// Reads the Cluster's slot map and starts its periodic refresh, retrying every second until a node answers
    /// (so a publisher that starts before its Redis does still follows slot moves); nothing on one Redis.
    func start() -> Task<Void, Never>? {
        guard case .cluster(let cluster) = self else { return nil }
        return Task {
            while !Task.isCancelled {
                if (try? await cluster.start()) != nil { return }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    func close() async {
        switch self {
        case .single(let client): await client.close()
        case .cluster(let cluster): await cluster.close()
        }
    }
}
