import LocalRedis
import NIOCore
import RedisClient
import Synchronization

/// Runs `body` with a fresh three-primary, three-replica cluster and a started client on it, and stops both after.
func withCluster<T: Sendable>(
    refreshInterval: Duration = .seconds(60),
    _ body: (LocalRedisCluster, RedisClusterClient) async throws -> T
) async throws -> T {
    let cluster = try await LocalRedisCluster.start()
    var options = RedisClusterClient.Options()
    options.refreshInterval = refreshInterval
    let client = RedisClusterClient(seeds: cluster.seeds, configuration: cluster.configuration, options: options)
    do {
        try await client.start()
        let result = try await body(cluster, client)
        await client.close()
        cluster.stop()
        return result
    } catch {
        await client.close()
        cluster.stop()
        throw error
    }
}

/// One channel name per shard of `map` (`{shard-N}` tags, the first of each primary found), in shard order.
func channelsOnEveryShard(_ map: ClusterSlotMap, prefix: String = "topic") -> [String] {
    var found: [RedisConfiguration.Endpoint: String] = [:]
    var index = 0
    while found.count < map.shards.count {
        let name = "sse:{\(prefix)-\(index)}:events"
        if let owner = map.primary(for: HashSlot(key: name)), found[owner] == nil { found[owner] = name }
        index += 1
    }
    return map.primaries.map { found[$0]! }
}

/// Collects a cluster subscriber's events in order.
final class ClusterEventLog: Sendable {
    private let events = Mutex<[RedisClusterSubscriber.Event]>([])

    func append(_ event: RedisClusterSubscriber.Event) { events.withLock { $0.append(event) } }

    var all: [RedisClusterSubscriber.Event] { events.withLock { $0 } }

    /// `channel=payload` of each message, in arrival order.
    var messages: [String] {
        all.compactMap { event in
            if case .message(let channel, let payload) = event { return "\(channel)=\(String(buffer: payload))" }
            return nil
        }
    }

    /// The events other than messages, for order checks.
    var changes: [RedisClusterSubscriber.Event] {
        all.filter { if case .message = $0 { return false } else { return true } }
    }

    func contains(_ event: RedisClusterSubscriber.Event) -> Bool { all.contains(event) }
}

extension RedisConfiguration.Endpoint {
    var port: Int {
        if case .tcp(_, let port) = self { return port }
        return 0
    }
}
