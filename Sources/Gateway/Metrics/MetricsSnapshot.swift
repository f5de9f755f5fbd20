import Foundation
import SSEProtocol
import Synchronization

/// The figures of `GET /sse-metrics`, read from ``GatewayStats`` at one moment.
struct MetricsSnapshot: Encodable {
    struct Redis: Encodable {
        var connected: Bool
        var reconnects: Int
        var subscribedTopics: Int
        var backfilledEvents: Int

        enum CodingKeys: String, CodingKey {
            case connected, reconnects
            case subscribedTopics = "subscribed_topics"
            case backfilledEvents = "backfilled_events"
        }
    }

    var nodeID: String
    var uptimeSeconds: Double
    var ready: Bool
    var draining: Bool
    var activeConnections: Int
    var connectionsTotal: Int
    var totalEventsSent: Int
    var messagesReceived: Int
    var eventsPerSecond: Double
    var averageConnectionDurationSeconds: Double
    var errorRate: Double
    var requestsTotal: Int
    var rejectedRequests: Int
    var streamRequests: Int
    var rejectedStreamRequests: Int
    var streamErrors: Int
    var slowConsumerDisconnects: Int
    var endedStreams: Int
    var acceptBackoffs: Int
    var shedConnections: Int
    var replayedEvents: Int
    var resyncs: Int
    var heartbeatsSent: Int
    var shedDeliveries: Int
    var caughtUpStreams: Int
    /// Live messages encoded per dialect (see ``GatewayStats/countEncodes(_:)``), keyed by dialect name.
    var dialectEncodes: [String: Int]
    var redis: Redis

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case uptimeSeconds = "uptime_seconds"
        case ready, draining
        case activeConnections = "active_connections"
        case connectionsTotal = "connections_total"
        case totalEventsSent = "total_events_sent"
        case messagesReceived = "messages_received"
        case eventsPerSecond = "events_per_second"
        case averageConnectionDurationSeconds = "average_connection_duration_seconds"
        case errorRate = "error_rate"
        case requestsTotal = "requests_total"
        case rejectedRequests = "rejected_requests"
        case streamRequests = "stream_requests"
        case rejectedStreamRequests = "rejected_stream_requests"
        case streamErrors = "stream_errors"
        case slowConsumerDisconnects = "slow_consumer_disconnects"
        case endedStreams = "ended_streams"
        case acceptBackoffs = "accept_backoffs"
        case shedConnections = "shed_connections"
        case replayedEvents = "replayed_events"
        case resyncs
        case heartbeatsSent = "heartbeats_sent"
        case shedDeliveries = "shed_deliveries"
        case caughtUpStreams = "caught_up_streams"
        case dialectEncodes = "dialect_encodes"
        case redis
    }

    init(stats: GatewayStats, nodeID: String, ready: Bool) {
        self.nodeID = nodeID
        uptimeSeconds = (stats.uptimeSeconds * 1000).rounded() / 1000
        self.ready = ready
        draining = stats.draining.load(ordering: .relaxed)
        activeConnections = stats.activeConnections.load(ordering: .relaxed)
        connectionsTotal = stats.connectionsTotal.load(ordering: .relaxed)
        totalEventsSent = stats.eventsSent.load(ordering: .relaxed)
        messagesReceived = stats.messagesReceived.load(ordering: .relaxed)
        eventsPerSecond = (stats.eventsPerSecond * 10).rounded() / 10
        averageConnectionDurationSeconds = (stats.averageConnectionDurationSeconds * 1000).rounded() / 1000
        errorRate = (stats.errorRate * 10000).rounded() / 10000
        requestsTotal = stats.requests.load(ordering: .relaxed)
        rejectedRequests = stats.rejectedRequests.load(ordering: .relaxed)
        streamRequests = stats.streamRequests.load(ordering: .relaxed)
        rejectedStreamRequests = stats.rejectedStreamRequests.load(ordering: .relaxed)
        streamErrors = stats.streamErrors.load(ordering: .relaxed)
        slowConsumerDisconnects = stats.slowConsumerDisconnects.load(ordering: .relaxed)
        endedStreams = stats.endedStreams.load(ordering: .relaxed)
        acceptBackoffs = stats.acceptBackoffs.load(ordering: .relaxed)
        shedConnections = stats.shedConnections.load(ordering: .relaxed)
        replayedEvents = stats.replayedEvents.load(ordering: .relaxed)
        resyncs = stats.resyncs.load(ordering: .relaxed)
        heartbeatsSent = stats.heartbeatsSent.load(ordering: .relaxed)
        shedDeliveries = stats.shedDeliveries.load(ordering: .relaxed)
        caughtUpStreams = stats.caughtUpStreams.load(ordering: .relaxed)
        dialectEncodes = Dictionary(
            uniqueKeysWithValues: Dialect.allCases.map { ($0.rawValue, stats.dialectEncodes($0)) })
        redis = Redis(
            connected: stats.redisConnected.load(ordering: .relaxed),
            reconnects: stats.redisReconnects.load(ordering: .relaxed),
            subscribedTopics: stats.subscribedTopics.load(ordering: .relaxed),
            backfilledEvents: stats.backfilledEvents.load(ordering: .relaxed))
    }
}

extension MetricsSnapshot {
    static func encode(_ snapshot: MetricsSnapshot) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(snapshot)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
