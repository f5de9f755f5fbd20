import Foundation

/// What one topology's run of `sse-load topology` measured, and the report of several rounds of both.
struct NodeCostResult: Sendable, Equatable {
    var topology: String
    var delivered: UInt64
    var expected: Int
    var gaps: UInt64
    var duplicates: UInt64
    var dropped: UInt64
    /// `utime + stime` of the gateway process from the first publish until the last delivery.
    var gatewayCPUSeconds: Double
    /// The same for every redis-server of the topology.
    var redisCPUSeconds: Double
    /// Publish rate achieved, events/s.
    var publishRate: Double
    var latencyP50Microseconds: UInt64?
    var latencyP99Microseconds: UInt64?
    /// Share of a core the gateway used while idle with its streams open, before the publishes (fixed costs).
    var gatewayIdleShare: Double = 0
    /// The same for the topology's redis-server processes together.
    var redisIdleShare: Double = 0

    var gatewayMicrosecondsPerDelivery: Double? {
        delivered > 0 ? gatewayCPUSeconds * 1e6 / Double(delivered) : nil
    }
    var redisMicrosecondsPerDelivery: Double? {
        delivered > 0 ? redisCPUSeconds * 1e6 / Double(delivered) : nil
    }
    /// Every expected delivery arrived, once and in order.
    var isExact: Bool { delivered == UInt64(expected) && gaps == 0 && duplicates == 0 && dropped == 0 }
}

/// Rounds of both topologies, their medians and the ratios cluster / one Redis.
struct NodeCostReport: Sendable {
    var single: [NodeCostResult] = []
    var cluster: [NodeCostResult] = []
    var description: String

    /// Median of one figure over the rounds (nil when no round has it).
    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    static func ratio(_ numerator: Double?, _ denominator: Double?) -> Double? {
        guard let numerator, let denominator, denominator > 0 else { return nil }
        return numerator / denominator
    }

    private static func figure(_ results: [NodeCostResult], _ value: (NodeCostResult) -> Double?) -> Double? {
        median(results.compactMap(value))
    }

    /// Each figure: its label in the table, its key in the JSON line, how it is read from a result, its digits.
    var rows: [(String, String, (NodeCostResult) -> Double?, Int)] {
        [
            ("gateway CPU µs / delivery", "gateway_cpu_us_per_delivery", { $0.gatewayMicrosecondsPerDelivery }, 3),
            ("Redis CPU µs / delivery", "redis_cpu_us_per_delivery", { $0.redisMicrosecondsPerDelivery }, 3),
            ("latency p50 ms", "latency_p50_ms", { $0.latencyP50Microseconds.map { Double($0) / 1000 } }, 2),
            ("latency p99 ms", "latency_p99_ms", { $0.latencyP99Microseconds.map { Double($0) / 1000 } }, 2),
            ("publish events/s", "publish_events_per_s", { $0.publishRate }, 0),
            ("gateway idle % of a core", "gateway_idle_percent", { $0.gatewayIdleShare * 100 }, 2),
            ("Redis idle % of a core", "redis_idle_percent", { $0.redisIdleShare * 100 }, 2),
        ]
    }

    var table: String {
        var lines = [description, "", pad("", ["one Redis", "3 shards", "ratio"])]
        for (label, _, value, digits) in rows {
            let one = Self.figure(single, value)
            let three = Self.figure(cluster, value)
            lines.append(pad(label, [format(one, digits), format(three, digits), format(Self.ratio(three, one), 3)]))
        }
        let exact = (single + cluster).allSatisfy(\.isExact)
        lines.append(
            pad("deliveries exact", [verdict(single), verdict(cluster), exact ? "yes" : "NO"]))
        return lines.joined(separator: "\n")
    }

    var json: String {
        func part(_ results: [NodeCostResult]) -> String {
            let fields = rows.map { _, key, value, _ in "\"\(key)\":\(number(Self.figure(results, value)))" }
            return "{"
                + (fields + ["\"exact\":\(results.allSatisfy(\.isExact))", "\"rounds\":\(results.count)"])
                .joined(separator: ",") + "}"
        }
        let gateway = Self.ratio(
            Self.figure(cluster, { $0.gatewayMicrosecondsPerDelivery }),
            Self.figure(single, { $0.gatewayMicrosecondsPerDelivery }))
        let redis = Self.ratio(
            Self.figure(cluster, { $0.redisMicrosecondsPerDelivery }),
            Self.figure(single, { $0.redisMicrosecondsPerDelivery }))
        return "{\"node_cost\":{\"single\":\(part(single)),\"cluster\":\(part(cluster)),"
            + "\"ratios\":{\"gateway_cpu_per_delivery\":\(number(gateway, 4)),"
            + "\"redis_cpu_per_delivery\":\(number(redis, 4))}}}"
    }

    private func verdict(_ results: [NodeCostResult]) -> String {
        results.allSatisfy(\.isExact) ? "yes" : "NO"
    }

    private func pad(_ label: String, _ cells: [String]) -> String {
        label.padding(toLength: 30, withPad: " ", startingAt: 0)
            + cells.map { String(repeating: " ", count: max(0, 12 - $0.count)) + $0 }.joined()
    }

    private func format(_ value: Double?, _ digits: Int) -> String {
        guard let value, value.isFinite else { return "-" }
        return String(format: "%.\(digits)f", value)
    }

    private func number(_ value: Double?, _ digits: Int = 3) -> String {
        guard let value, value.isFinite else { return "null" }
        return String(format: "%.\(digits)f", value)
    }
}
