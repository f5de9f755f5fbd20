/// One node of a Redis Cluster as `CLUSTER SHARDS` (or `CLUSTER SLOTS`) describes it.
public struct ClusterNode: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable {
        case primary
        case replica
    }

    /// The node's 40-character id (empty when only a redirect named the node).
    public var id: String
    public var endpoint: RedisConfiguration.Endpoint
    public var role: Role
    /// `online`, `failed` or `loading` (Redis's words); `online` when the source does not say (`CLUSTER SLOTS`).
    public var health: String
    public var replicationOffset: Int64

    public init(
        id: String, endpoint: RedisConfiguration.Endpoint, role: Role, health: String = "online",
        replicationOffset: Int64 = 0
    ) {
        self.id = id
        self.endpoint = endpoint
        self.role = role
        self.health = health
        self.replicationOffset = replicationOffset
    }
}

/// A primary, its replicas and the slots it serves.
public struct ClusterShard: Sendable, Hashable {
    /// Inclusive slot ranges, ascending.
    public var slotRanges: [ClosedRange<Int>]
    public var primary: ClusterNode
    public var replicas: [ClusterNode]

    public init(slotRanges: [ClosedRange<Int>], primary: ClusterNode, replicas: [ClusterNode] = []) {
        self.slotRanges = slotRanges
        self.primary = primary
        self.replicas = replicas
    }

    public var slotCount: Int { slotRanges.reduce(0) { $0 + $1.count } }
}

/// Which primary serves each of the 16384 slots: the client's routing table, read from the cluster and corrected by
/// `MOVED` redirects between reads.
public struct ClusterSlotMap: Sendable, Hashable {
    /// The shards that serve at least one slot, ordered by their first slot (shards without slots are left out:
    /// a failed primary that lost its slots to its promoted replica, a node not yet given slots).
    public private(set) var shards: [ClusterShard]
    /// The index into `shards` of each slot's owner, or -1 when no shard serves the slot.
    private var owners: [Int16]

    public init(shards: [ClusterShard]) {
        let serving = shards.filter { !$0.slotRanges.isEmpty }.sorted {
            ($0.slotRanges.first?.lowerBound ?? 0) < ($1.slotRanges.first?.lowerBound ?? 0)
        }
        self.shards = serving
        owners = Array(repeating: -1, count: HashSlot.count)
        for (index, shard) in serving.enumerated() {
            for range in shard.slotRanges {
                for slot in range.clamped(to: 0...(HashSlot.count - 1)) { owners[slot] = Int16(index) }
            }
        }
    }

    /// The shard serving `slot`, or nil when the slot is not covered.
    public func shard(for slot: HashSlot) -> ClusterShard? {
        let index = Int(owners[slot.value])
        return index < 0 ? nil : shards[index]
    }

    /// The primary endpoint serving `slot`.
    public func primary(for slot: HashSlot) -> RedisConfiguration.Endpoint? {
        shard(for: slot)?.primary.endpoint
    }

    /// Every slot is served by some shard.
    public var coversEverySlot: Bool { !owners.contains(-1) }

    /// The primaries' endpoints, in shard order.
    public var primaries: [RedisConfiguration.Endpoint] { shards.map(\.primary.endpoint) }

    /// Every node's endpoint (primaries first), for trying another node when a seed is gone.
    public var allEndpoints: [RedisConfiguration.Endpoint] {
        shards.map(\.primary.endpoint) + shards.flatMap { $0.replicas.map(\.endpoint) }
    }

    /// Records what a `MOVED` redirect said: `slot` is now served by the primary at `endpoint`. A primary not yet
    /// in the map gets a shard of its own (without id or replicas) until the next read of the map.
    public mutating func assign(_ slot: HashSlot, to endpoint: RedisConfiguration.Endpoint) {
        let target: Int
        if let index = shards.firstIndex(where: { $0.primary.endpoint == endpoint }) {
            target = index
        } else {
            shards.append(
                ClusterShard(slotRanges: [], primary: ClusterNode(id: "", endpoint: endpoint, role: .primary)))
            target = shards.count - 1
        }
        let previous = Int(owners[slot.value])
        guard previous != target else { return }
        if previous >= 0 { shards[previous].slotRanges = Self.removing(slot.value, from: shards[previous].slotRanges) }
        shards[target].slotRanges = Self.adding(slot.value, to: shards[target].slotRanges)
        owners[slot.value] = Int16(target)
    }

    private static func removing(_ slot: Int, from ranges: [ClosedRange<Int>]) -> [ClosedRange<Int>] {
        ranges.flatMap { range -> [ClosedRange<Int>] in
            guard range.contains(slot) else { return [range] }
            var parts: [ClosedRange<Int>] = []
            if range.lowerBound < slot { parts.append(range.lowerBound...(slot - 1)) }
            if slot < range.upperBound { parts.append((slot + 1)...range.upperBound) }
            return parts
        }
    }

    private static func adding(_ slot: Int, to ranges: [ClosedRange<Int>]) -> [ClosedRange<Int>] {
        var merged: [ClosedRange<Int>] = []
        for range in (ranges + [slot...slot]).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }
}
