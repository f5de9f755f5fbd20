import Foundation
import Synchronization

/// How long live reliable events take from their publish to their write on this node, as a histogram with fixed
/// buckets (`/metrics`' `sse_delivery_latency_seconds`) and, over the last minute, its p50 and p99
/// (`/sse-metrics`' `delivery_latency`).
///
/// **What is measured.** A reliable event's id is `<ms>-<seq>`, the milliseconds being Redis's clock when
/// `sse_publish` ran; the write is the end of the loop tick in which the event reached a loop holding streams of
/// its topic (``LoopHub/endTick()``): that is where a topic's single-topic streams are written the tick's batch
/// and every stream written during the tick is flushed to its socket. So one figure per event per loop, not per
/// stream: the hot path writes one shared buffer to many streams, and measuring costs one clock read per tick and a
/// few atomic adds, whatever the number of streams. Only live relays count: events a node reads back from history
/// (its backfill after a reconnect, a stream's replay, a catch-up) were published long before, and would measure
/// how long the node or the client was away, not how fast delivery is.
///
/// **Clocks.** The id is on Redis's clock, the write on the node's (its wall clock, `Date`): on different hosts the figure
/// includes their clock offset. A negative difference (the node's clock behind Redis's) is counted as 0 rather
/// than dropped, so the count stays the number of events; keep the hosts on NTP. The id is cut to the millisecond,
/// so a figure reads up to 1 ms high.
///
/// **Why a one-minute window for the percentiles.** Cumulative buckets are what Prometheus wants (it computes its
/// own windows from them), but a p99 since the node started would hide a bad minute under hours of good ones. A
/// sampler (``sample()``, once a second with the events rate) keeps the cumulative buckets of each of the last 60
/// seconds, and the window is "now minus 60 s ago": exact counts over a known span, no decay factor to explain.
/// Percentiles are read from the buckets (linear within the bucket, as Prometheus's `histogram_quantile` does),
/// so they are as fine as the buckets.
final class DeliveryLatency: Sendable {
    /// Upper bounds of the buckets in microseconds; one more bucket above the last (`+Inf`).
    static let bounds: [Int64] = [
        500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
        10_000_000,
    ]
    /// The bounds as Prometheus `le` labels, in seconds.
    static let labels = [
        "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
        "+Inf",
    ]
    static let bucketCount = 15
    /// Seconds the percentiles of ``window()`` cover.
    static let windowSeconds = 60

    /// Events per bucket (not cumulative), since the node started.
    private let buckets: InlineArray<15, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private let sumMicroseconds = Atomic<Int>(0)
    /// The cumulative buckets at each of the last ``windowSeconds`` samples, oldest first; starts with the zeros of
    /// the node's start, so a young node's window covers its whole life.
    private let samples = Mutex<[[Int]]>([Array(repeating: 0, count: 15)])

    /// The wall clock in microseconds since the Unix epoch (the clock event ids are on, at the node).
    static func nowMicroseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1_000_000)
    }

    /// The bucket of a latency in microseconds (negative ones were clamped to 0 before).
    @inline(__always)
    static func bucket(of microseconds: Int64) -> Int {
        var index = 0
        while index < bounds.count, microseconds > bounds[index] { index += 1 }
        return index
    }

    /// Counts the events published at `publishedMilliseconds` (their ids' times) and written at `now`: one atomic
    /// add per bucket touched, plus the sum and nothing else; allocates nothing.
    func record(publishedMilliseconds: [UInt64], now: Int64) {
        guard !publishedMilliseconds.isEmpty else { return }
        var counts = InlineArray<15, Int>(repeating: 0)
        var sum: Int64 = 0
        for milliseconds in publishedMilliseconds {
            let latency = max(0, now - Int64(truncatingIfNeeded: milliseconds) &* 1000)
            counts[Self.bucket(of: latency)] += 1
            sum &+= latency
        }
        for index in 0..<Self.bucketCount where counts[index] > 0 {
            buckets[index].add(counts[index], ordering: .relaxed)
        }
        sumMicroseconds.add(Int(sum), ordering: .relaxed)
    }

    /// Events per bucket since the start (not cumulative).
    var counts: [Int] { (0..<Self.bucketCount).map { buckets[$0].load(ordering: .relaxed) } }

    var sumSeconds: Double { Double(sumMicroseconds.load(ordering: .relaxed)) / 1_000_000 }

    /// Keeps the current buckets as this second's sample (the timer of ``GatewayStats/sampleRate()``).
    func sample() {
        let current = counts
        samples.withLock { samples in
            samples.append(current)
            if samples.count > Self.windowSeconds + 1 { samples.removeFirst(samples.count - Self.windowSeconds - 1) }
        }
    }

    /// The events of the last ``windowSeconds`` seconds per bucket: now minus the oldest sample kept.
    func window() -> [Int] {
        let current = counts
        let oldest = samples.withLock { $0.first } ?? Array(repeating: 0, count: Self.bucketCount)
        return zip(current, oldest).map { max(0, $0 - $1) }
    }

    /// The `quantile` (0…1) of events per bucket, in milliseconds: linear within its bucket; the last finite bound
    /// when it falls above it; nil without events.
    static func quantile(_ quantile: Double, of counts: [Int]) -> Double? {
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = quantile * Double(total)
        var below = 0
        for (index, count) in counts.enumerated() where count > 0 {
            if Double(below + count) >= rank {
                guard index < bounds.count else { return Double(bounds[bounds.count - 1]) / 1000 }
                let lower = index == 0 ? 0 : Double(bounds[index - 1])
                let upper = Double(bounds[index])
                let fraction = max(0, rank - Double(below)) / Double(count)
                return (lower + (upper - lower) * fraction) / 1000
            }
            below += count
        }
        return Double(bounds[bounds.count - 1]) / 1000
    }

    /// The histogram in Prometheus text (`sse_delivery_latency_seconds`, cumulative `_bucket`s, `_sum`, `_count`),
    /// labelled with the node like the registry's series.
    func prometheusText(nodeID: String) -> String {
        let node = "node=\"\(Self.escape(nodeID))\""
        var text = "# HELP sse_delivery_latency_seconds Live reliable events: publish (id time) to write, per loop.\n"
        text += "# TYPE sse_delivery_latency_seconds histogram\n"
        var cumulative = 0
        for (index, count) in counts.enumerated() {
            cumulative += count
            text += "sse_delivery_latency_seconds_bucket{\(node),le=\"\(Self.labels[index])\"} \(cumulative)\n"
        }
        text += "sse_delivery_latency_seconds_sum{\(node)} \(sumSeconds)\n"
        text += "sse_delivery_latency_seconds_count{\(node)} \(cumulative)\n"
        return text
    }

    /// A label value in the text format: backslash, quote and line feed escaped.
    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
