import RedisClient
import SSEHistory
import SSEProtocol

/// The connections one `ssectl` invocation uses, for any topology of `--redis-url`.
///
/// - ``history``: reliable publish and revocations (``History``); on a Redis Cluster in Cluster mode, so each
///   publish runs `sse_publish_sharded` on its topic's shard and the revocations go to the slot of
///   `sse:revocations`.
/// - ``control``: a plain command connection for the control channel (`PUBLISH sse:control`, `ssectl end`). On a
///   Cluster it goes to any node (``RedisConnector/init(cluster:)``): a Cluster broadcasts a classic `PUBLISH` to
///   every node, so every gateway's `SUBSCRIBE sse:control` hears it wherever it is connected. The count `PUBLISH`
///   answers is then the subscribers of that one node.
struct RedisAccess {
    let history: History
    let control: RedisClient
    private let cluster: RedisClusterClient?

    init(topology: RedisTopology) {
        switch topology {
        case .cluster(let seeds):
            let cluster = RedisClusterClient(seeds: seeds)
            self.cluster = cluster
            history = History(cluster: cluster)
            control = RedisClient(connector: RedisConnector(cluster: cluster))
        case .single, .sentinel:
            let client = RedisClient(connector: RedisConnector(topology: topology))
            cluster = nil
            history = History(runner: client)
            control = client
        }
    }

    /// Where node-registry reads (`ssectl top`) go: the one Redis, or on a Cluster the shard of the registry's slot
    /// (every registry key shares the hash tag `{sse.nodes}`).
    var registry: any RedisCommandRunner {
        cluster.map { $0.routed(key: NodeRegistryKeys.members) } ?? control
    }

    func close() async {
        await control.close()
        await cluster?.close()
    }
}
