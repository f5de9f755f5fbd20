import Foundation

/// What `redis-bench --only topology` measured: per round and as medians, the plain PUBLISH reference on one
/// server, reliable publish on one server and on the Cluster, each with the Redis CPU it cost per event; printed
/// as a table for people and one JSON line for scripts.
///
/// The ratios are what the figures are read by (see docs/BENCHMARKS.md): cluster / one server for throughput and
/// for CPU per event, and reliable / plain PUBLISH on the one server.
struct TopologyReport: Sendable {
    var settings: BenchmarkSettings
    var requests: Int
    var topics: Int
    var shards: Int
    var plain: [ReliablePublishBenchmark.Run] = []
    var single: [ReliablePublishBenchmark.Run] = []
    var cluster: [ReliablePublishBenchmark.Run] = []

    /// Medians of one measurement's rounds.
    struct Summary {
        var eventsPerSecond: Double?
        var redisMicrosecondsPerEvent: Double?

        init(_ runs: [ReliablePublishBenchmark.Run]) {
            eventsPerSecond = median(runs.map(\.eventsPerSecond))
            redisMicrosecondsPerEvent = median(runs.map(\.redisMicrosecondsPerEvent))
        }
    }

    var throughputRatio: Double? {
        BenchmarkReport.ratio(Summary(cluster).eventsPerSecond, Summary(single).eventsPerSecond)
    }
    var cpuRatio: Double? {
        BenchmarkReport.ratio(Summary(cluster).redisMicrosecondsPerEvent, Summary(single).redisMicrosecondsPerEvent)
    }
    var reliableToPlain: Double? {
        BenchmarkReport.ratio(Summary(single).eventsPerSecond, Summary(plain).eventsPerSecond)
    }

    var table: String {
        let s = settings
        let header = (1...s.rounds).map { "round \($0)" } + ["median"]
        let blanks = Array(repeating: "", count: s.rounds)
        var lines = [
            "redis-bench topology: \(s.connections) connections, pipeline \(s.pipeline), \(requests) reliable and "
                + "\(s.requests) plain publishes per run, \(topics) topics (\(topics / shards) per shard), "
                + "\(s.payloadBytes)-byte payload, \(s.rounds) rounds",
            "",
            row("Publish ceiling", header),
        ]
        for (label, runs) in [
            ("PUBLISH, one server", plain), ("reliable, one server", single), ("reliable, \(shards) shards", cluster),
        ] {
            lines.append(
                row(
                    "  \(label) events/s",
                    runs.map { format($0.eventsPerSecond, 0) } + [
                        format(Summary(runs).eventsPerSecond, 0)
                    ]))
            lines.append(
                row(
                    "    Redis CPU µs/event",
                    runs.map { format($0.redisMicrosecondsPerEvent, 2) } + [
                        format(Summary(runs).redisMicrosecondsPerEvent, 2)
                    ]))
        }
        lines.append(row("  ratio events/s shards / one", blanks + [format(throughputRatio, 3)]))
        lines.append(row("  ratio CPU/event shards / one", blanks + [format(cpuRatio, 3)]))
        lines.append(row("  ratio reliable / PUBLISH, one", blanks + [format(reliableToPlain, 3)]))
        return lines.joined(separator: "\n")
    }

    /// One line: `{"topology":{"publish":{…},"single":{…},"cluster":{…},"ratios":{…}},"settings":{…}}`.
    var json: String {
        func part(_ runs: [ReliablePublishBenchmark.Run]) -> String {
            let summary = Summary(runs)
            return "{\"events_per_s\":\(number(summary.eventsPerSecond, 1)),"
                + "\"redis_us_per_event\":\(number(summary.redisMicrosecondsPerEvent, 3))}"
        }
        let s = settings
        return "{\"topology\":{\"publish\":\(part(plain)),\"single\":\(part(single)),\"cluster\":\(part(cluster)),"
            + "\"ratios\":{\"throughput\":\(number(throughputRatio, 4)),\"cpu_per_event\":\(number(cpuRatio, 4)),"
            + "\"reliable_to_publish\":\(number(reliableToPlain, 4))}},"
            + "\"settings\":{\"connections\":\(s.connections),\"pipeline\":\(s.pipeline),\"requests\":\(requests),"
            + "\"publish_requests\":\(s.requests),\"topics\":\(topics),\"shards\":\(shards),"
            + "\"payload_bytes\":\(s.payloadBytes),\"rounds\":\(s.rounds)}}"
    }

    private func row(_ label: String, _ cells: [String]) -> String {
        label.padding(toLength: 38, withPad: " ", startingAt: 0)
            + cells.map { String(repeating: " ", count: max(0, 12 - $0.count)) + $0 }.joined()
    }

    private func format(_ value: Double?, _ digits: Int) -> String {
        guard let value, value.isFinite else { return "-" }
        return String(format: "%.\(digits)f", value)
    }

    private func number(_ value: Double?, _ digits: Int) -> String {
        guard let value, value.isFinite else { return "null" }
        return String(format: "%.\(digits)f", value)
    }
}
