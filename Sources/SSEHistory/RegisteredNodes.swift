import RedisClient
import SSEProtocol

/// The gateway nodes as one read of the node registry (``SSEProtocol/NodeRegistryKeys``) finds them: every member
/// whose key expired at most ``downWindowMilliseconds`` ago, with its live document, or none when its key is gone
/// (the node stopped beating without leaving: killed, frozen, cut off from Redis), and as many of its beats as the
/// reader asks for. `ssectl top` and the publisher's dashboard read it; on a Redis Cluster the runner must be routed
/// by ``SSEProtocol/NodeRegistryKeys/members``, so every command reaches the registry's one slot.
public struct RegisteredNodes: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var id: String
        /// When its key expires, or expired: the member's score (Unix ms, on the node's clock).
        public var expiresMilliseconds: Int64
        /// The live key's document; nil when the key is gone.
        public var document: NodeDocument?
        /// Its beats, oldest first, as ``Beats`` asked.
        public var beats: [NodeDocument]

        public var isDown: Bool { document == nil }

        public init(id: String, expiresMilliseconds: Int64, document: NodeDocument?, beats: [NodeDocument]) {
            self.id = id
            self.expiresMilliseconds = expiresMilliseconds
            self.document = document
            self.beats = beats
        }
    }

    /// Which beats a read fetches.
    public enum Beats: Sendable {
        /// Every node's kept beats (``SSEProtocol/NodeRegistryKeys/beatsKept``): the dashboard's charts.
        case all
        /// The last beat of each node that is down, what a table row shows of it.
        case lastOfDown
    }

    /// The nodes, by id. A member whose key holds a document this code cannot read (another format version) is
    /// neither live nor down: it is left out.
    public var nodes: [Node]

    /// How long a node that stopped beating is still listed: the minute the nodes keep its member entry.
    public static let downWindowMilliseconds: Int64 = 60_000

    public init(nodes: [Node]) {
        self.nodes = nodes
    }

    /// Reads the registry as of `now` (Unix ms): the members with their expiry scores, then their keys in one
    /// `MGET` (with, for ``Beats/all``, each node's beats in the same pipeline), then, for ``Beats/lastOfDown``
    /// and only when some key is gone, the newest beat of those nodes.
    public static func read(
        _ runner: any RedisCommandRunner, now: Int64, beats: Beats
    ) async throws -> RegisteredNodes {
        let since = String(now - downWindowMilliseconds)
        let members = try await runner.send(
            RedisCommand("ZRANGEBYSCORE", arguments: [NodeRegistryKeys.members, since, "+inf", "WITHSCORES"])
        ).throwingServerError()
        let flat = members.array ?? []
        var expiries: [(id: String, expiry: Int64)] = []
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            if let id = flat[index].string, let score = flat[index + 1].string.flatMap(Double.init) {
                expiries.append((id, Int64(score)))
            }
        }
        expiries.sort { $0.id < $1.id }
        guard !expiries.isEmpty else { return RegisteredNodes(nodes: []) }
        var commands = [RedisCommand("MGET", arguments: expiries.map { NodeRegistryKeys.node($0.id) })]
        if case .all = beats {
            commands += expiries.map {
                RedisCommand("LRANGE", NodeRegistryKeys.beats($0.id), "0", String(NodeRegistryKeys.beatsKept - 1))
            }
        }
        let replies = try await runner.pipeline(commands)
        for reply in replies { try reply.throwingServerError() }
        let values = replies[0].array ?? []
        var nodes: [Node] = []
        for (offset, member) in expiries.enumerated() {
            let value = offset < values.count ? values[offset] : .null
            let document = value.bytes.flatMap(NodeDocument.decode)
            guard document != nil || value.isNull else { continue }
            let kept: [NodeDocument] =
                if case .all = beats, offset + 1 < replies.count {
                    (replies[offset + 1].array ?? []).compactMap { $0.bytes.flatMap(NodeDocument.decode) }.reversed()
                } else { [] }
            nodes.append(Node(id: member.id, expiresMilliseconds: member.expiry, document: document, beats: kept))
        }
        if case .lastOfDown = beats {
            let down = nodes.indices.filter { nodes[$0].isDown }
            if !down.isEmpty {
                let lasts = try await runner.pipeline(
                    down.map { RedisCommand("LINDEX", arguments: [NodeRegistryKeys.beats(nodes[$0].id), "0"]) })
                for (offset, index) in down.enumerated() {
                    if offset < lasts.count, let last = lasts[offset].bytes.flatMap(NodeDocument.decode) {
                        nodes[index].beats = [last]
                    }
                }
            }
        }
        return RegisteredNodes(nodes: nodes)
    }
}
