extension ClusterSlotMap {
    /// Reads a `CLUSTER SHARDS` reply (Redis 7): per shard its `slots` (pairs of bounds) and `nodes` (maps of
    /// `id`, `ip`, `endpoint`, `port`, `role`, `health`, `replication-offset`). A shard without a node whose role is
    /// `master` is left out.
    public init(clusterShards reply: RedisReply) throws(RedisError) {
        func fail(_ reason: String) -> RedisError {
            .unexpectedReply(command: "CLUSTER SHARDS", reply: "\(reason): \(reply)")
        }
        guard let entries = reply.array else { throw fail("not an array") }
        var shards: [ClusterShard] = []
        for entry in entries {
            guard let fields = Self.pairs(entry) else { throw fail("a shard is not a field list") }
            guard let bounds = fields["slots"]?.array, bounds.count % 2 == 0 else { throw fail("bad slots") }
            var ranges: [ClosedRange<Int>] = []
            for index in stride(from: 0, to: bounds.count, by: 2) {
                guard let low = bounds[index].int, let high = bounds[index + 1].int, low <= high else {
                    throw fail("bad slot range")
                }
                ranges.append(Int(low)...Int(high))
            }
            guard let nodeEntries = fields["nodes"]?.array else { throw fail("no nodes") }
            var primary: ClusterNode?
            var replicas: [ClusterNode] = []
            for nodeEntry in nodeEntries {
                guard let node = Self.pairs(nodeEntry), let port = node["port"]?.int ?? node["tls-port"]?.int else {
                    throw fail("a node without a port")
                }
                let host = Self.host(endpoint: node["endpoint"]?.string, ip: node["ip"]?.string)
                let parsed = ClusterNode(
                    id: node["id"]?.string ?? "", endpoint: .tcp(host: host, port: Int(port)),
                    role: node["role"]?.string == "master" ? .primary : .replica,
                    health: node["health"]?.string ?? "online",
                    replicationOffset: node["replication-offset"]?.int ?? 0)
                if parsed.role == .primary && primary == nil { primary = parsed } else { replicas.append(parsed) }
            }
            guard let primary else { continue }
            shards.append(
                ClusterShard(
                    slotRanges: ranges.sorted { $0.lowerBound < $1.lowerBound }, primary: primary,
                    replicas: replicas))
        }
        self.init(shards: shards)
    }

    /// Reads a `CLUSTER SLOTS` reply (before Redis 7): one entry per slot range, `[low, high, primary, replicas…]`,
    /// each node `[ip, port, id, …]`. Ranges of one primary are gathered into one shard.
    public init(clusterSlots reply: RedisReply) throws(RedisError) {
        func fail(_ reason: String) -> RedisError {
            .unexpectedReply(command: "CLUSTER SLOTS", reply: "\(reason): \(reply)")
        }
        guard let entries = reply.array else { throw fail("not an array") }
        var shards: [ClusterShard] = []
        for entry in entries {
            guard let parts = entry.array, parts.count >= 3, let low = parts[0].int, let high = parts[1].int,
                low <= high
            else { throw fail("bad slot range") }
            var nodes: [ClusterNode] = []
            for (position, nodePart) in parts.dropFirst(2).enumerated() {
                guard let fields = nodePart.array, fields.count >= 2, let port = fields[1].int else {
                    throw fail("bad node")
                }
                let host = Self.host(endpoint: fields[0].string, ip: nil)
                nodes.append(
                    ClusterNode(
                        id: fields.count > 2 ? fields[2].string ?? "" : "", endpoint: .tcp(host: host, port: Int(port)),
                        role: position == 0 ? .primary : .replica))
            }
            let range = Int(low)...Int(high)
            if let index = shards.firstIndex(where: { $0.primary.endpoint == nodes[0].endpoint }) {
                shards[index].slotRanges.append(range)
                shards[index].slotRanges.sort { $0.lowerBound < $1.lowerBound }
            } else {
                shards.append(ClusterShard(slotRanges: [range], primary: nodes[0], replicas: Array(nodes.dropFirst())))
            }
        }
        self.init(shards: shards)
    }

    /// A flat `[name, value, name, value, …]` list as a dictionary.
    private static func pairs(_ reply: RedisReply) -> [String: RedisReply]? {
        guard let elements = reply.array, elements.count % 2 == 0 else { return nil }
        var fields: [String: RedisReply] = [:]
        for index in stride(from: 0, to: elements.count, by: 2) {
            guard let name = elements[index].string else { return nil }
            fields[name] = elements[index + 1]
        }
        return fields
    }

    /// The address to connect to: the announced endpoint unless it is unknown (`?`, empty), else the IP.
    private static func host(endpoint: String?, ip: String?) -> String {
        if let endpoint, !endpoint.isEmpty, endpoint != "?" { return endpoint }
        return ip ?? "127.0.0.1"
    }
}
