import Foundation
import RedisClient
import SSEHistory
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

    /// Reads the registry (``SSEHistory/RegisteredNodes``) with every node's kept beats: two round trips, in the
    /// registry's slot. A node that is down and left no beat has nothing to show and is left out.
    static func read(from runner: any RedisCommandRunner, now: Date = Date()) async throws -> ClusterState {
        let readAt = Int64(now.timeIntervalSince1970 * 1000)
        let registry = try await RegisteredNodes.read(runner, now: readAt, beats: .all)
        let nodes = registry.nodes.compactMap { node -> Node? in
            guard let last = node.document ?? node.beats.last else { return nil }
            return Node(id: node.id, document: last, isDown: node.isDown, beats: node.beats)
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
