import Foundation

extension SubscribeResult {
    /// The human-readable summary printed before the JSON line.
    var table: String {
        var lines = ["sse-load subscribe \(url)"]
        lines.append(
            "  streams      \(requested) requested, \(connected) opened, \(failed) failed, \(dropped) dropped later; "
                + "opened in \(Self.format(connectSeconds, digits: 2)) s"
                + (processes > 1 ? " (\(processes) processes)" : ""))
        for (reason, count) in failures.sorted(by: { $0.value > $1.value }).prefix(5) {
            lines.append("  failure      \(count) × \(reason)")
        }
        var delivery = "  events       \(events) received"
        if let eventsPerSecond, let deliverySeconds {
            delivery +=
                " (\(Self.format(eventsPerSecond, digits: 0))/s over \(Self.format(deliverySeconds, digits: 2)) s)"
        }
        delivery += ", \(gaps) gaps, \(duplicates) duplicates, \(unparsed) not benchmark payloads"
        lines.append(delivery)
        if let published, let missing {
            lines.append("  published    \(published) events; \(missing) deliveries missing (gaps and tails)")
        }
        if let latencyMs {
            lines.append(
                "  latency ms   p50 \(Self.format(latencyMs.p50)), p90 \(Self.format(latencyMs.p90)), "
                    + "p99 \(Self.format(latencyMs.p99)), p99.9 \(Self.format(latencyMs.p99_9)), "
                    + "max \(Self.format(latencyMs.max))")
        }
        lines.append("  comments     \(comments) (heartbeats and opening comments); \(bytes) bytes received")
        lines.append("  load cpu     \(Self.format(cpuSeconds, digits: 2)) s")
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double, digits: Int = 3) -> String {
        String(format: "%.\(digits)f", value)
    }
}
