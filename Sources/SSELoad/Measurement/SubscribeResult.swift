import Foundation

/// The outcome of one `sse-load subscribe` process, or of several merged: the JSON line scripts read.
///
/// Raw counts and the sparse latency histogram are kept so results of several load processes merge exactly
/// (`sse-load merge`); rates and percentiles are derived from them when encoding.
struct SubscribeResult: Codable, Sendable {
    var url: String
    var requested: Int
    var connected: Int
    var failed: Int
    /// Seconds from the first connection attempt until every stream had its response head (or failed); across
    /// processes started together, the longest.
    var connectSeconds: Double
    var processes: Int = 1
    /// CPU time the load generator itself used, in seconds (it shares the machine with the servers).
    var cpuSeconds: Double
    var events: UInt64
    var gaps: UInt64
    var duplicates: UInt64
    var unparsed: UInt64
    var comments: UInt64
    /// Comments received after the `--armed-by` file appeared (a measuring window's heartbeats), when armed.
    var commentsAfterArmed: UInt64? = nil
    var bytes: UInt64
    var dropped: UInt64
    var firstEventNs: UInt64?
    var lastEventNs: UInt64?
    /// Events the publisher had acknowledged, when known (`merge --published`): the base of ``missing``.
    var published: UInt64?
    /// Why streams failed to open, with counts (first 80 characters of each distinct reason).
    var failures: [String: Int]
    var histogram: [[UInt64]]
    var latencyMaxUs: UInt64

    // Derived on encoding.
    var eventsPerSecond: Double?
    var deliverySeconds: Double?
    /// Events published but not received, summed over the streams: published × connected − unique received.
    var missing: Int64?
    var latencyMs: LatencySummary?

    struct LatencySummary: Codable, Sendable {
        var p50: Double
        var p90: Double
        var p99: Double
        var p99_9: Double
        var max: Double
    }

    enum CodingKeys: String, CodingKey {
        case url, requested, connected, failed, processes, events, gaps, duplicates, unparsed, comments, bytes
        case dropped, published, failures, histogram, missing
        case commentsAfterArmed = "comments_after_armed"
        case connectSeconds = "connect_seconds", cpuSeconds = "cpu_seconds", firstEventNs = "first_event_ns"
        case lastEventNs = "last_event_ns", latencyMaxUs = "latency_max_us", eventsPerSecond = "events_per_second"
        case deliverySeconds = "delivery_seconds", latencyMs = "latency_ms"
    }

    init(
        url: String, requested: Int, connected: Int, failed: Int, connectSeconds: Double, cpuSeconds: Double,
        counts: DeliveryCounts, failures: [String: Int]
    ) {
        self.url = url
        self.requested = requested
        self.connected = connected
        self.failed = failed
        self.connectSeconds = connectSeconds
        self.cpuSeconds = cpuSeconds
        events = counts.events
        gaps = counts.gaps
        duplicates = counts.duplicates
        unparsed = counts.unparsed
        comments = counts.comments
        bytes = counts.bytes
        dropped = counts.dropped
        firstEventNs = counts.firstEventNanoseconds == .max ? nil : counts.firstEventNanoseconds
        lastEventNs = counts.lastEventNanoseconds == 0 ? nil : counts.lastEventNanoseconds
        self.failures = failures
        histogram = counts.latency.sparse
        latencyMaxUs = counts.latency.maximum
        derive()
    }

    var latency: LatencyHistogram { LatencyHistogram(sparse: histogram, maximum: latencyMaxUs) }

    /// Fills the derived fields from the raw ones.
    mutating func derive() {
        if let first = firstEventNs, let last = lastEventNs, last > first {
            deliverySeconds = Double(last - first) / 1e9
            eventsPerSecond = Double(events - duplicates) / deliverySeconds!
        } else {
            deliverySeconds = nil
            eventsPerSecond = nil
        }
        if let published {
            missing = Int64(published) * Int64(connected) - Int64(events - duplicates - unparsed)
        } else {
            missing = nil
        }
        let histogram = latency
        if let p50 = histogram.value(atFraction: 0.5) {
            func ms(_ fraction: Double) -> Double { Double(histogram.value(atFraction: fraction) ?? 0) / 1000 }
            latencyMs = LatencySummary(
                p50: Double(p50) / 1000, p90: ms(0.9), p99: ms(0.99), p99_9: ms(0.999),
                max: Double(histogram.maximum) / 1000)
        } else {
            latencyMs = nil
        }
    }

    /// Combines the results of load processes that ran side by side against the same server.
    static func merged(_ results: [SubscribeResult], published: UInt64?) -> SubscribeResult? {
        guard var total = results.first else { return nil }
        var histogram = total.latency
        for other in results.dropFirst() {
            total.requested += other.requested
            total.connected += other.connected
            total.failed += other.failed
            total.connectSeconds = max(total.connectSeconds, other.connectSeconds)
            total.processes += other.processes
            total.cpuSeconds += other.cpuSeconds
            total.events += other.events
            total.gaps += other.gaps
            total.duplicates += other.duplicates
            total.unparsed += other.unparsed
            total.comments += other.comments
            if let mine = total.commentsAfterArmed, let theirs = other.commentsAfterArmed {
                total.commentsAfterArmed = mine + theirs
            } else {
                total.commentsAfterArmed = nil
            }
            total.bytes += other.bytes
            total.dropped += other.dropped
            total.firstEventNs = [total.firstEventNs, other.firstEventNs].compactMap { $0 }.min()
            total.lastEventNs = [total.lastEventNs, other.lastEventNs].compactMap { $0 }.max()
            total.failures.merge(other.failures, uniquingKeysWith: +)
            histogram.merge(other.latency)
        }
        total.histogram = histogram.sparse
        total.latencyMaxUs = histogram.maximum
        if let published { total.published = published }
        total.derive()
        return total
    }

    /// One line of JSON (snake_case keys).
    var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(jsonLine: String) throws -> SubscribeResult {
        try JSONDecoder().decode(SubscribeResult.self, from: Data(jsonLine.utf8))
    }
}
