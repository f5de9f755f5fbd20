import Foundation

/// Everything one `redis-bench` run measured, printed as a table for people and one JSON line for scripts.
///
/// Each figure is the median over the rounds; ratios are taken between medians. A ratio of 1 means ours matches the
/// reference; the project's target is at least 0.8 on both comparisons.
struct BenchmarkReport: Sendable {
    var settings: BenchmarkSettings
    /// Requests/s of our publisher, one per round.
    var publishOurs: [Double] = []
    /// Requests/s of redis-benchmark, one per round.
    var publishReference: [Double] = []
    var subscribeOurs: [SubscribeRound] = []
    var subscribeRedisCLI: [SubscribeRound] = []
    /// Why the redis-cli peer is missing, when it is.
    var redisCLISkipped: String?

    /// One subscriber peer's medians and totals.
    struct PeerSummary {
        var messagesPerSecond: Double?
        var publishRequestsPerSecond: Double?
        var ratio: Double?
        var lost: Int
        var disconnects: Int
        var wrongSizes: Int

        init(_ rounds: [SubscribeRound]) {
            messagesPerSecond = median(rounds.compactMap(\.messagesPerSecond))
            publishRequestsPerSecond = median(rounds.map(\.publishRequestsPerSecond))
            ratio = BenchmarkReport.ratio(messagesPerSecond, publishRequestsPerSecond)
            lost = rounds.reduce(0) { $0 + $1.lost }
            disconnects = rounds.reduce(0) { $0 + $1.disconnects }
            wrongSizes = rounds.reduce(0) { $0 + $1.wrongSizes }
        }
    }

    var publishRatio: Double? { Self.ratio(median(publishOurs), median(publishReference)) }
    /// False when `--only subscribe` skipped the PUBLISH comparison (and the other way round).
    var hasPublish: Bool { !publishOurs.isEmpty || !publishReference.isEmpty }
    var hasSubscribe: Bool { !subscribeOurs.isEmpty }

    var table: String {
        let s = settings
        var lines = [
            "redis-bench: \(s.connections) connections, pipeline \(s.pipeline), \(s.requests) requests, "
                + "\(s.payloadBytes)-byte payload, \(s.rounds) rounds, \(s.eventLoopThreads) event-loop thread(s)"
        ]
        let header = (1...s.rounds).map { "round \($0)" } + ["median"]
        if hasPublish {
            lines += [
                "",
                row("PUBLISH throughput", header),
                row("  redis-benchmark req/s", rates(publishReference)),
                row("  ours req/s", rates(publishOurs)),
                row("  ratio ours / redis-benchmark", blanks + [format(publishRatio, digits: 3)]),
            ]
        }
        guard hasSubscribe else { return lines.joined(separator: "\n") }
        lines += ["", row("SUBSCRIBE decode rate", header)]
        lines += peerRows("our RedisSubscriber", subscribeOurs)
        if let redisCLISkipped {
            lines.append("  redis-cli subscribe: skipped (\(redisCLISkipped))")
        } else {
            lines += peerRows("redis-cli subscribe", subscribeRedisCLI)
            let ours = PeerSummary(subscribeOurs).messagesPerSecond
            let cli = PeerSummary(subscribeRedisCLI).messagesPerSecond
            lines.append(row("  ratio ours / redis-cli msg/s", blanks + [format(Self.ratio(ours, cli), digits: 3)]))
        }
        return lines.joined(separator: "\n")
    }

    /// One line: `{"publish":{"ours":…,"redis_benchmark":…,"ratio":…},"subscribe":{…}}`.
    var json: String {
        let ours = PeerSummary(subscribeOurs)
        var subscribe = [
            "\"ours\":\(number(ours.messagesPerSecond))",
            "\"redis_benchmark\":\(number(ours.publishRequestsPerSecond))",
            "\"ratio\":\(number(ours.ratio, digits: 4))",
            "\"lost\":\(ours.lost)", "\"disconnects\":\(ours.disconnects)", "\"wrong_sizes\":\(ours.wrongSizes)",
        ]
        if redisCLISkipped == nil {
            let cli = PeerSummary(subscribeRedisCLI)
            subscribe.append(
                "\"redis_cli\":{\"msgs_per_s\":\(number(cli.messagesPerSecond)),"
                    + "\"redis_benchmark\":\(number(cli.publishRequestsPerSecond)),"
                    + "\"ratio\":\(number(cli.ratio, digits: 4)),\"lost\":\(cli.lost)}")
        } else {
            subscribe.append("\"redis_cli\":null")
        }
        let publish = [
            "\"ours\":\(number(median(publishOurs)))", "\"redis_benchmark\":\(number(median(publishReference)))",
            "\"ratio\":\(number(publishRatio, digits: 4))",
        ]
        let s = settings
        let run =
            "\"settings\":{\"connections\":\(s.connections),\"pipeline\":\(s.pipeline),\"requests\":\(s.requests),"
            + "\"payload_bytes\":\(s.payloadBytes),\"rounds\":\(s.rounds),\"event_loop_threads\":\(s.eventLoopThreads)}"
        let publishJSON = hasPublish ? "{\(publish.joined(separator: ","))}" : "null"
        let subscribeJSON = hasSubscribe ? "{\(subscribe.joined(separator: ","))}" : "null"
        return "{\"publish\":\(publishJSON),\"subscribe\":\(subscribeJSON),\(run)}"
    }

    private func peerRows(_ name: String, _ rounds: [SubscribeRound]) -> [String] {
        let summary = PeerSummary(rounds)
        return [
            row("  \(name) msg/s", rates(rounds.map { $0.messagesPerSecond ?? .nan })),
            row("    redis-benchmark publish req/s", rates(rounds.map(\.publishRequestsPerSecond))),
            row("    ratio msg/s / publish req/s", blanks + [format(summary.ratio, digits: 3)]),
            row("    lost / disconnects", rounds.map { "\($0.lost) / \($0.disconnects)" } + [""]),
        ]
    }

    private var blanks: [String] { Array(repeating: "", count: settings.rounds) }

    private func rates(_ values: [Double]) -> [String] {
        values.map { format($0, digits: 0) } + [format(median(values.filter { !$0.isNaN }), digits: 0)]
    }

    private func row(_ label: String, _ cells: [String]) -> String {
        label.padding(toLength: 38, withPad: " ", startingAt: 0)
            + cells.map { String(repeating: " ", count: max(0, 12 - $0.count)) + $0 }.joined()
    }

    private func format(_ value: Double?, digits: Int) -> String {
        guard let value, value.isFinite else { return "-" }
        return String(format: "%.\(digits)f", value)
    }

    private func number(_ value: Double?, digits: Int = 1) -> String {
        guard let value, value.isFinite else { return "null" }
        return String(format: "%.\(digits)f", value)
    }

    static func ratio(_ numerator: Double?, _ denominator: Double?) -> Double? {
        guard let numerator, let denominator, denominator > 0 else { return nil }
        return numerator / denominator
    }
}

/// The middle value (mean of the two middle ones for an even count); nil for no values.
func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
