/// A `MOVED` or `ASK` error reply: the slot is served elsewhere for good (`MOVED`: update the map) or for this one
/// command during a migration (`ASK`: send `ASKING` and the command to the target, once, and keep the map).
public struct ClusterRedirect: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case moved = "MOVED"
        case ask = "ASK"
    }

    public var kind: Kind
    public var slot: HashSlot
    public var endpoint: RedisConfiguration.Endpoint

    public init(kind: Kind, slot: HashSlot, endpoint: RedisConfiguration.Endpoint) {
        self.kind = kind
        self.slot = slot
        self.endpoint = endpoint
    }

    /// Parses `MOVED <slot> <host>:<port>` or `ASK <slot> <host>:<port>`; nil for any other error text.
    ///
    /// The port follows the last colon, so an IPv6 host comes bare (`::1:7001`, as Redis writes it) or in
    /// brackets. An empty host (`:7001`, Redis's way of saying "the host you are connected to") takes
    /// `defaultHost`.
    public init?(errorMessage message: String, defaultHost: String = "127.0.0.1") {
        let words = message.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 3, let kind = Kind(rawValue: String(words[0])), let slot = Int(words[1]),
            (0..<HashSlot.count).contains(slot), let colon = words[2].lastIndex(of: ":")
        else { return nil }
        var host = words[2][..<colon]
        guard let port = Int(words[2][words[2].index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        self.init(
            kind: kind, slot: HashSlot(slot),
            endpoint: .tcp(host: host.isEmpty ? defaultHost : String(host), port: port))
    }
}

/// What a cluster command can fail with beyond ``RedisError``.
public enum RedisClusterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No seed or known node answered `CLUSTER SHARDS` / `CLUSTER SLOTS`; each attempt's error, in order.
    case noNodeReachable(attempts: [String])
    /// The slot is served by no shard in the map even after a fresh read.
    case slotNotCovered(HashSlot)
    /// More redirects than allowed for one command; the last one is named.
    case tooManyRedirects(command: String, count: Int, last: String)
    /// `CLUSTERDOWN`, `TRYAGAIN` or an unreachable node persisted past the retry deadline.
    case retriesExhausted(command: String, milliseconds: Int64, last: String)

    public var description: String {
        switch self {
        case .noNodeReachable(let attempts):
            return "no Redis Cluster node answered the slot map request: \(attempts.joined(separator: "; "))"
        case .slotNotCovered(let slot):
            return "no Redis Cluster shard serves slot \(slot)"
        case .tooManyRedirects(let command, let count, let last):
            return "\(command) was redirected \(count) times (last: \(last))"
        case .retriesExhausted(let command, let milliseconds, let last):
            return "\(command) failed for \(milliseconds) ms of retries (last: \(last))"
        }
    }
}
