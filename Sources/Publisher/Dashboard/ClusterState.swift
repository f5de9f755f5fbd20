import Foundation
import RedisClient
import SSEProtocol

/// The gateway nodes as the registry in Redis has them (``NodeRegistryKeys``): the live ones with their documents,
/// the ones whose key expired in the last minute (down), and each one's beats of the last five minutes.
struct ClusterState: Sendable, Equatable {
    struct Node: Sendable, Equatable {
        var id: String
        /// The newest document: the live key's, or for a node that is down its last beat.
        var document: NodeDocument?
        /// Whether the node's key is gone (it stopped beating: killed, hung, or cut off from Redis).
        var isDown: Bool
        /// Its summaries of the last five minutes, oldest first.
        var beats: [NodeDocument]

        /// `ready`, `draining`, `not-ready` or `down`.
        var stateName: String { isDown ? "down" : document?.state.rawValue ?? "unknown" }
    }

    /// Every node, by id.
    var nodes: [Node]
    /// When it was read (Unix ms, this process's clock).
    var readAt: Int64

    /// Reads the registry: one `ZRANGE`, then one pipeline of `MGET` and an `LRANGE` per member, all in the
    /// registry's slot.
    static func read(from runner: any RedisCommandRunner, now: Date = Date()) async throws -> ClusterState {
        let members = try await runner.send(RedisCommand("ZRANGE", NodeRegistryKeys.members, "0", "-1"))
        let ids = (members.array ?? []).compactMap(\.string).sorted()
        let readAt = Int64(now.timeIntervalSince1970 * 1000)
        guard !ids.isEmpty else { return ClusterState(nodes: [], readAt: readAt) }
        let commands =
            [RedisCommand("MGET", arguments: ids.map(NodeRegistryKeys.node))]
            + ids.map {
                RedisCommand("LRANGE", NodeRegistryKeys.beats($0), "0", String(NodeRegistryKeys.beatsKept - 1))
            }
        let replies = try await runner.pipeline(commands)
        for reply in replies { try reply.throwingServerError() }
        let documents = replies[0].array ?? []
        var nodes: [Node] = []
        for (index, id) in ids.enumerated() {
            let live = documents.indices.contains(index) ? documents[index].bytes.flatMap(NodeDocument.decode) : nil
            let beats = (replies[index + 1].array ?? []).compactMap { $0.bytes.flatMap(NodeDocument.decode) }
                .reversed()
            let last = live ?? beats.last
            // A member without key or beats left nothing to show.
            guard last != nil else { continue }
            nodes.append(Node(id: id, document: last, isDown: live == nil, beats: Array(beats)))
        }
        return ClusterState(nodes: nodes, readAt: readAt)
    }

    /// The cluster's totals over the nodes that are up.
    var totals: Totals {
        var totals = Totals()
        for node in nodes {
            switch node.stateName {
            case "ready": totals.ready += 1
            case "draining": totals.draining += 1
            case "down": totals.down += 1
            default: totals.notReady += 1
            }
            guard !node.isDown, let document = node.document else { continue }
            totals.streams += document.streams
            totals.eventsPerSecond += document.eventsPerSecond
            totals.slowConsumerCuts += document.slowConsumerCuts
            totals.shedDeliveries += document.shedDeliveries
            totals.resyncs += document.resyncs
            if let p99 = document.deliveryP99Milliseconds { totals.worstP99 = max(totals.worstP99 ?? 0, p99) }
        }
        return totals
    }

    struct Totals: Sendable, Equatable {
        var ready = 0
        var draining = 0
        var notReady = 0
        var down = 0
        var streams = 0
        var eventsPerSecond = 0.0
        var slowConsumerCuts = 0
        var shedDeliveries = 0
        var resyncs = 0
        /// The highest p99 delivery latency of the nodes up (ms); nil before any delivered a reliable event.
        var worstP99: Double?
    }
}
