import CoreMetrics
import SSEProtocol
import Synchronization

/// Publishes ``GatewayStats`` through swift-metrics (and so to Prometheus when the executable bootstraps it).
///
/// The stats stay the single source of truth; `sync()` copies them into swift-metrics counters (by delta) and
/// gauges, once a second and right before `/metrics` is rendered, so both endpoints show the same figures.
final class MetricsBridge: Sendable {
    private struct Counters {
        var values: [String: Int] = [:]
    }

    private let stats: GatewayStats
    private let counters: [(String, CoreMetrics.Counter, @Sendable (GatewayStats) -> Int)]
    private let gauges: [(CoreMetrics.Gauge, @Sendable (GatewayStats) -> Double)]
    private let last = Mutex(Counters())
    private let links: LinkMetrics

    init(stats: GatewayStats, nodeID: String) {
        self.stats = stats
        links = LinkMetrics(nodeID: nodeID)
        let dimensions = [("node", nodeID)]
        func counter(
            _ name: String, _ extra: [(String, String)] = [], _ read: @escaping @Sendable (GatewayStats) -> Int
        ) -> (String, CoreMetrics.Counter, @Sendable (GatewayStats) -> Int) {
            let key = ([name] + extra.map { "\($0.0)=\($0.1)" }).joined(separator: ",")
            return (key, CoreMetrics.Counter(label: name, dimensions: dimensions + extra), read)
        }
        func gauge(_ name: String, _ read: @escaping @Sendable (GatewayStats) -> Double)
            -> (CoreMetrics.Gauge, @Sendable (GatewayStats) -> Double)
        {
            (CoreMetrics.Gauge(label: name, dimensions: dimensions), read)
        }
        counters =
            [
                counter("sse_connections_total") { $0.connectionsTotal.load(ordering: .relaxed) },
                counter("sse_events_sent_total") { $0.eventsSent.load(ordering: .relaxed) },
                counter("sse_messages_received_total") { $0.messagesReceived.load(ordering: .relaxed) },
                counter("sse_requests_total") { $0.requests.load(ordering: .relaxed) },
                counter("sse_rejected_requests_total") { $0.rejectedRequests.load(ordering: .relaxed) },
                counter("sse_stream_requests_total") { $0.streamRequests.load(ordering: .relaxed) },
                counter("sse_rejected_stream_requests_total") { $0.rejectedStreamRequests.load(ordering: .relaxed) },
                counter("sse_stream_errors_total") { $0.streamErrors.load(ordering: .relaxed) },
                counter("sse_slow_consumer_disconnects_total") { $0.slowConsumerDisconnects.load(ordering: .relaxed) },
                counter("sse_ended_streams_total") { $0.endedStreams.load(ordering: .relaxed) },
                counter("sse_accept_backoffs_total") { $0.acceptBackoffs.load(ordering: .relaxed) },
                counter("sse_shed_connections_total") { $0.shedConnections.load(ordering: .relaxed) },
                counter("sse_replayed_events_total") { $0.replayedEvents.load(ordering: .relaxed) },
                counter("sse_replay_retries_total") { $0.replayRetries.load(ordering: .relaxed) },
                counter("sse_resyncs_total") { $0.resyncs.load(ordering: .relaxed) },
                counter("sse_heartbeats_sent_total") { $0.heartbeatsSent.load(ordering: .relaxed) },
                counter("sse_redis_reconnects_total") { $0.redisReconnects.load(ordering: .relaxed) },
                counter("sse_redis_backfilled_events_total") { $0.backfilledEvents.load(ordering: .relaxed) },
                counter("sse_shed_deliveries_total") { $0.shedDeliveries.load(ordering: .relaxed) },
                counter("sse_caught_up_streams_total") { $0.caughtUpStreams.load(ordering: .relaxed) },
                counter("sse_limit_refusals_total", [("limit", "streams_per_client")]) {
                    $0.streamsPerClientRefusals.load(ordering: .relaxed)
                },
                counter("sse_limit_refusals_total", [("limit", "new_streams_per_second")]) {
                    $0.newStreamsPerSecondRefusals.load(ordering: .relaxed)
                },
            ]
            + Dialect.allCases.map { dialect in
                counter("sse_dialect_encodes_total", [("dialect", dialect.rawValue)]) { $0.dialectEncodes(dialect) }
            }
            + AuthStats.reasons.map { reason in
                counter("sse_auth_refusals_total", [("reason", reason)]) { $0.auth.refusals(reason) }
            }
            + [
                counter("sse_authorized_streams_total") { $0.auth.authorizedStreams.load(ordering: .relaxed) },
                counter("sse_token_expired_streams_total") { $0.auth.expiredStreams.load(ordering: .relaxed) },
                counter("sse_revoked_streams_total") { $0.auth.revokedStreams.load(ordering: .relaxed) },
                counter("sse_revocations_total") { $0.auth.revocations.load(ordering: .relaxed) },
            ]
        gauges = [
            gauge("sse_active_connections") { Double($0.activeConnections.load(ordering: .relaxed)) },
            gauge("sse_uptime_seconds") { $0.uptimeSeconds },
            gauge("sse_events_per_second") { $0.eventsPerSecond },
            gauge("sse_average_connection_duration_seconds") { $0.averageConnectionDurationSeconds },
            gauge("sse_error_rate") { $0.errorRate },
            gauge("sse_redis_connected") { $0.redisConnected.load(ordering: .relaxed) ? 1 : 0 },
            gauge("sse_redis_subscribed_topics") { Double($0.subscribedTopics.load(ordering: .relaxed)) },
            gauge("sse_draining") { $0.draining.load(ordering: .relaxed) ? 1 : 0 },
        ]
    }

    func sync() {
        last.withLock { last in
            for (name, counter, read) in counters {
                let value = read(stats)
                let delta = value - last.values[name, default: 0]
                if delta > 0 { counter.increment(by: delta) }
                last.values[name] = value
            }
        }
        for (gauge, read) in gauges { gauge.record(read(stats)) }
        links.record(stats.redisLinks)
    }
}
