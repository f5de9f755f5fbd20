import Foundation
import RedisClient
import SSEProtocol
import Synchronization

/// The figures of `GET /sse-metrics`, read from ``GatewayStats`` at one moment. Public and decodable so that
/// clients (the test support, operators' tools) read the document as these typed fields, not as untyped JSON.
public struct MetricsSnapshot: Codable, Sendable, Equatable {
    public struct Redis: Codable, Sendable, Equatable {
        public var connected: Bool
        public var reconnects: Int
        public var subscribedTopics: Int
        public var backfilledEvents: Int
        /// Each subscriber link (one on a single Redis or a Sentinel group, one per shard on a Cluster), by address.
        public var links: [Link]

        enum CodingKeys: String, CodingKey {
            case connected, reconnects, links
            case subscribedTopics = "subscribed_topics"
            case backfilledEvents = "backfilled_events"
        }
    }

    /// One subscriber link (``RedisLinkReport``) and its end-to-end probes.
    public struct Link: Codable, Sendable, Equatable {
        public var address: String
        public var up: Bool
        /// Seconds since the link last went up or down.
        public var stateSeconds: Double
        public var probesSent: Int
        public var probeFailures: Int
        /// Probes not sent for want of a descriptor or memory in this process (the link is kept).
        public var probesSkipped: Int
        public var lastProbeFailed: Bool
        /// The last probe's round trip in milliseconds; nil before the first came back.
        public var lastProbeMilliseconds: Double?
        /// Messages received on the link (probes not included).
        public var messagesReceived: Int
        /// The channel the probes travel on (`sse:probe:…`, never a topic's); nil while probing is off.
        public var probeChannel: String?

        enum CodingKeys: String, CodingKey {
            case address, up
            case stateSeconds = "state_seconds"
            case probesSent = "probes_sent"
            case probeFailures = "probe_failures"
            case probesSkipped = "probes_skipped"
            case lastProbeFailed = "last_probe_failed"
            case lastProbeMilliseconds = "last_probe_ms"
            case messagesReceived = "messages_received"
            case probeChannel = "probe_channel"
        }

        init(_ report: RedisLinkReport, now: ContinuousClock.Instant) {
            address = report.address
            up = report.isUp
            stateSeconds = ((now - report.since).seconds * 1000).rounded() / 1000
            probesSent = report.probesSent
            probeFailures = report.probeFailures
            probesSkipped = report.probesSkipped
            lastProbeFailed = report.lastProbeFailed
            lastProbeMilliseconds = report.lastRoundTrip.map { ($0.seconds * 1_000_000).rounded() / 1000 }
            messagesReceived = report.messagesReceived
            probeChannel = report.probeChannel
        }
    }

    /// Private topics (``AuthStats``).
    public struct Auth: Codable, Sendable, Equatable {
        /// Stream requests refused (401/403) by reason.
        public var refusals: [String: Int]
        public var authorizedStreams: Int
        public var expiredStreams: Int
        public var revokedStreams: Int
        public var revocations: Int

        enum CodingKeys: String, CodingKey {
            case refusals, revocations
            case authorizedStreams = "authorized_streams"
            case expiredStreams = "expired_streams"
            case revokedStreams = "revoked_streams"
        }
    }

    /// Live reliable events from publish to write over the last minute (``DeliveryLatency``).
    public struct Latency: Codable, Sendable, Equatable {
        /// Median and 99th percentile in milliseconds, read from the histogram's buckets; nil without events.
        public var p50Milliseconds: Double?
        public var p99Milliseconds: Double?
        /// Events measured in the window (one per event per event loop holding streams of its topic).
        public var count: Int
        public var windowSeconds: Int

        enum CodingKeys: String, CodingKey {
            case count
            case p50Milliseconds = "p50_ms"
            case p99Milliseconds = "p99_ms"
            case windowSeconds = "window_seconds"
        }

        init(_ latency: DeliveryLatency) {
            let window = latency.window()
            count = window.reduce(0, +)
            p50Milliseconds = DeliveryLatency.quantile(0.5, of: window).map { ($0 * 1000).rounded() / 1000 }
            p99Milliseconds = DeliveryLatency.quantile(0.99, of: window).map { ($0 * 1000).rounded() / 1000 }
            windowSeconds = DeliveryLatency.windowSeconds
        }
    }

    public var nodeID: String
    public var uptimeSeconds: Double
    public var ready: Bool
    public var draining: Bool
    public var activeConnections: Int
    public var connectionsTotal: Int
    public var totalEventsSent: Int
    public var messagesReceived: Int
    public var eventsPerSecond: Double
    public var averageConnectionDurationSeconds: Double
    public var errorRate: Double
    public var requestsTotal: Int
    public var rejectedRequests: Int
    public var streamRequests: Int
    public var rejectedStreamRequests: Int
    public var streamErrors: Int
    public var slowConsumerDisconnects: Int
    public var endedStreams: Int
    public var acceptBackoffs: Int
    public var shedConnections: Int
    public var replayedEvents: Int
    public var replayRetries: Int
    public var resyncs: Int
    public var heartbeatsSent: Int
    public var shedDeliveries: Int
    public var caughtUpStreams: Int
    /// Live messages encoded per dialect (see ``GatewayStats/countEncodes(_:)``), keyed by dialect name.
    public var dialectEncodes: [String: Int]
    /// `GET /sse` requests refused with 429 by the limits per client, keyed by limit: `streams_per_client`,
    /// `new_streams_per_second`.
    public var limitRefusals: [String: Int]
    public var redis: Redis
    public var auth: Auth
    public var deliveryLatency: Latency

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
        case replayRetries = "replay_retries"
        case resyncs
        case heartbeatsSent = "heartbeats_sent"
        case shedDeliveries = "shed_deliveries"
        case caughtUpStreams = "caught_up_streams"
        case dialectEncodes = "dialect_encodes"
        case limitRefusals = "limit_refusals"
        case redis, auth
        case deliveryLatency = "delivery_latency"
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
        replayRetries = stats.replayRetries.load(ordering: .relaxed)
        resyncs = stats.resyncs.load(ordering: .relaxed)
        heartbeatsSent = stats.heartbeatsSent.load(ordering: .relaxed)
        shedDeliveries = stats.shedDeliveries.load(ordering: .relaxed)
        caughtUpStreams = stats.caughtUpStreams.load(ordering: .relaxed)
        dialectEncodes = Dictionary(
            uniqueKeysWithValues: Dialect.allCases.map { ($0.rawValue, stats.dialectEncodes($0)) })
        limitRefusals = [
            "streams_per_client": stats.streamsPerClientRefusals.load(ordering: .relaxed),
            "new_streams_per_second": stats.newStreamsPerSecondRefusals.load(ordering: .relaxed),
        ]
        redis = Redis(
            connected: stats.redisConnected.load(ordering: .relaxed),
            reconnects: stats.redisReconnects.load(ordering: .relaxed),
            subscribedTopics: stats.subscribedTopics.load(ordering: .relaxed),
            backfilledEvents: stats.backfilledEvents.load(ordering: .relaxed),
            links: stats.redisLinks.map { Link($0, now: .now) })
        auth = Auth(
            refusals: stats.auth.refusalsByReason,
            authorizedStreams: stats.auth.authorizedStreams.load(ordering: .relaxed),
            expiredStreams: stats.auth.expiredStreams.load(ordering: .relaxed),
            revokedStreams: stats.auth.revokedStreams.load(ordering: .relaxed),
            revocations: stats.auth.revocations.load(ordering: .relaxed))
        deliveryLatency = Latency(stats.deliveryLatency)
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension MetricsSnapshot {
    static func encode(_ snapshot: MetricsSnapshot) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(snapshot)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
