import Foundation

extension BenchmarkDocument {
    /// One target of issue 13 point 7: a figure of ours, a reference (the floor's figure times the allowed factor,
    /// or a fixed limit), and the comparison.
    struct Target {
        var label: String
        var ours: Double?
        /// The figure the target is relative to (the floor's, or ours in another scenario); nil when it was not
        /// measured, or for a fixed limit.
        var reference: Double?
        /// Allowed ratio to `reference`, or the limit itself when `isLimit`.
        var allowed: Double
        var isLimit = false
        var digits: Int
        /// The same figure of nchan with 2 workers, for context.
        var nchan: Double?
    }

    /// The targets the redesigned fan-out is measured against, from this run.
    func targets() -> [Target] {
        func value(_ system: String, _ scenario: String, _ figure: (BenchmarkRecord) -> Double?) -> Double? {
            record(system, scenario).flatMap(figure)
        }
        let cpu: (BenchmarkRecord) -> Double? = { $0.cpuPerDeliveryMicroseconds }
        let p99: (BenchmarkRecord) -> Double? = { $0.subscribe?.latencyMs?.p99 }
        let open: (BenchmarkRecord) -> Double? = { $0.subscribe?.connectSeconds }
        let kb: (BenchmarkRecord) -> Double? = { $0.kilobytesPerStream }
        var list: [Target] = []
        for scenario in ["S1", "S2"] {
            list.append(
                Target(
                    label: "\(scenario) node CPU per delivery (µs) ≤ 1.15× floor", ours: value("ours-1", scenario, cpu),
                    reference: value("floor", scenario, cpu), allowed: 1.15, digits: 2,
                    nchan: value("nchan-2", scenario, cpu)))
        }
        for scenario in ["S1", "S2"] {
            list.append(
                Target(
                    label: "\(scenario) p99 latency (ms) ≤ 1.1× floor", ours: value("ours-1", scenario, p99),
                    reference: value("floor", scenario, p99), allowed: 1.1, digits: 2,
                    nchan: value("nchan-2", scenario, p99)))
        }
        list.append(
            Target(
                label: "S4 KB per idle stream ≤ 3", ours: value("ours-1", "S4", kb), reference: nil, allowed: 3,
                isLimit: true, digits: 2, nchan: value("nchan-2", "S4", kb)))
        list.append(
            Target(
                label: "S6 seconds to accept the streams ≤ 1.1× floor", ours: value("ours-1", "S6", open),
                reference: value("floor", "S6", open), allowed: 1.1, digits: 2, nchan: value("nchan-2", "S6", open)))
        list.append(
            Target(
                label: "S7 node CPU per delivery (µs) ≤ 1.5× ours in S1", ours: value("ours-1", "S7", cpu),
                reference: value("ours-1", "S1", cpu), allowed: 1.5, digits: 2, nchan: value("nchan-2", "S7", cpu)))
        return list
    }

    /// `met (0.93)`, `**not met** (1.35)`, or `–` when a figure is missing.
    static func verdict(_ target: Target) -> String {
        guard let ours = target.ours else { return "–" }
        if target.isLimit { return ours <= target.allowed ? "met" : "**not met**" }
        guard let reference = target.reference, reference > 0 else { return "–" }
        let ratio = ours / reference
        return (ratio <= target.allowed ? "met" : "**not met**") + " (\(String(format: "%.2f", ratio))×)"
    }

    func targetsSection() -> [String] {
        var lines = [
            "## Targets", "",
            "Issue 13's targets for the redesigned fan-out, for one gateway node with two event loops, judged against "
                + "the floor server measured in the same run (ratio = ours ÷ reference).", "",
            "| target | ours | reference | allowed | met (ratio) | ours ÷ nchan 2w |",
            "| --- | ---: | ---: | ---: | --- | ---: |",
        ]
        for target in targets() {
            let reference = target.isLimit ? "limit" : Self.format(target.reference, target.digits)
            let allowed = target.isLimit ? Self.format(target.allowed, 0) : "\(Self.format(target.allowed, 2))×"
            let nchan = target.ours.flatMap { ours in target.nchan.map { Self.ratioText(ours, $0) } } ?? "–"
            lines.append(
                "| \(target.label) | \(Self.format(target.ours, target.digits)) | \(reference) | \(allowed) | "
                    + "\(Self.verdict(target)) | \(nchan) |")
        }
        lines += ["", "Checks of the same run:", ""]
        for scenario in ["S1", "S2", "S3", "S7"] {
            guard let subscribe = record("ours-1", scenario)?.subscribe else { continue }
            let ok = subscribe.gaps == 0 && subscribe.duplicates == 0 && (subscribe.missing ?? 1) == 0
            lines.append(
                "- \(scenario), ours 1 node: \(subscribe.gaps) gaps, \(subscribe.duplicates) duplicates, "
                    + "\(subscribe.missing.map(String.init) ?? "?") missing: \(ok ? "**0 lost**" : "**lost events**")")
        }
        if let s8 = record("ours-5", "S8"), let subscribe = s8.subscribe {
            let ok = subscribe.dropped == 0 && subscribe.failed == 0 && (s8.heartbeatsReceived ?? 0) > 0
            lines.append(
                "- S8, ours 5 nodes: \(Self.grouped(Double(subscribe.connected))) streams open "
                    + "(\(s8.streamsPerNode.map { Self.grouped(Double($0)) } ?? "?") per node), \(subscribe.failed) "
                    + "failed, \(subscribe.dropped) dropped, \(Self.grouped(Double(s8.heartbeatsReceived ?? 0))) "
                    + "heartbeats: \(ok ? "**0 dropped**" : "**streams lost**")")
        }
        lines.append("")
        return lines
    }
}
