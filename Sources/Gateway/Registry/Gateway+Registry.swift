import Foundation
import NIOCore
import SSEAuth
import SSEProtocol
import Synchronization

/// The node's part in the registry: its document each beat, the tasks that beat and publish presence events, and
/// what a stream adds to presence.
extension Gateway {
    /// This beat's document: state, figures, and the presence lists (``NodePresence/snapshot(listed:)``).
    func nodeDocument(beat: Int, listed: Bool = true) -> NodeDocument {
        let state: NodeDocument.State
        let reason = notReadyReason
        if stats.draining.load(ordering: .relaxed) {
            state = .draining
        } else {
            state = reason == nil ? .ready : .notReady
        }
        let links = stats.redisLinks
        let latency = MetricsSnapshot.Latency(stats.deliveryLatency)
        return NodeDocument(
            nodeID: configuration.nodeID,
            version: NodeDocument.gatewayVersion, startedMilliseconds: startedMilliseconds,
            atMilliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)), beat: beat,
            ttlMilliseconds: Int(NodeRegistry.lifetime.components.seconds * 1000), state: state,
            reason: state == .ready ? nil : reason, address: port.map { "\(configuration.host):\($0)" },
            streams: stats.activeConnections.load(ordering: .relaxed),
            eventsPerSecond: (stats.eventsPerSecond * 10).rounded() / 10,
            connectionsTotal: stats.connectionsTotal.load(ordering: .relaxed),
            slowConsumerCuts: stats.slowConsumerDisconnects.load(ordering: .relaxed),
            shedDeliveries: stats.shedDeliveries.load(ordering: .relaxed),
            shedConnections: stats.shedConnections.load(ordering: .relaxed),
            resyncs: stats.resyncs.load(ordering: .relaxed), redisLinksUp: links.count(where: \.isUp),
            redisLinksTotal: links.count, deliveryP50Milliseconds: latency.p50Milliseconds,
            deliveryP99Milliseconds: latency.p99Milliseconds, presence: presence.snapshot(listed: listed))
    }

    /// Starts the beat and (when turned on) the presence events; cancel the task to stop both.
    func startRegistry() -> Task<Void, Never> {
        Task { [self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.registry.run { beat in self.nodeDocument(beat: beat) } }
                if let presenceEvents = self.presenceEvents { group.addTask { await presenceEvents.run() } }
            }
        }
    }

    /// A beat out of turn (the node starts draining): followers see the new state at once, not up to a second later.
    func beatNow() {
        Task { [self] in await registry.write(nodeDocument(beat: registry.nextBeat())) }
    }

    /// After the beat task ended: the node leaves the registry at once instead of expiring.
    func leaveRegistry() async {
        await registry.leave(nodeDocument(beat: 0, listed: false))
    }

    /// Counts a stream that just opened in presence until its channel closes. Subjects are recorded for the topics
    /// the token was needed for (private ones): a public topic's presence never names who holds a token.
    func trackPresence(of topics: [Topic], access: StreamAuthorizer.Access, channel: any Channel) {
        var subject: String?
        if case .token(let token) = access { subject = token.subject }
        let publicTopics = authorizer.publicTopics
        presence.track(
            topics, subject: { topic in subject != nil && !publicTopics.matches(topic) ? subject : nil },
            until: channel.closeFuture)
    }
}
