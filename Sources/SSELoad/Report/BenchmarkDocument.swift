import Foundation

/// `docs/BENCHMARKS.md` from one suite run: every figure of every system, side by side, with ratios to the floor
/// and to nchan.
///
/// Ratios are ours ÷ the reference. Our node runs one event-loop thread per core (two here), so "ours 1 node" is set
/// against the floor in 2 threads, nchan with 1 worker (one process each) and with 2 workers (both cores each); two
/// gateway nodes behind the project's nginx against the floor and nchan with 2 workers; five nodes (S8) against
/// five floor processes.
struct BenchmarkDocument {
    var records: [BenchmarkRecord]
    /// Markdown list lines describing the machine and versions.
    var machine: String
    /// Every command the suite ran, in order.
    var commands: String
    /// The suite's settings line and timing.
    var runSummary: String
    /// Hand-written findings (`bench/findings.md`), from the run they name: kept apart from the generated
    /// tables so that a rerun refreshes every figure without losing the analysis.
    var notes: String?

    static let systems: [(key: String, label: String)] = BenchSystem.allCases.map { ($0.rawValue, $0.label) }
    static let pairs: [(ours: String, peer: String, label: String)] = [
        ("ours-1", "floor", "ours 1 node ÷ floor"), ("ours-1", "nchan-1", "ours 1 node ÷ nchan 1w"),
        ("ours-1", "nchan-2", "ours 1 node ÷ nchan 2w"), ("ours-2", "floor", "ours 2 nodes ÷ floor"),
        ("ours-2", "nchan-2", "ours 2 nodes ÷ nchan 2w"), ("nchan-2", "floor", "nchan 2w ÷ floor"),
        ("ours-5", "floor-5", "ours 5 nodes ÷ floor 5"),
    ]

    enum Better { case higher, lower, neither }

    /// One row of a scenario table: a figure taken from each system's record.
    struct Row {
        var label: String
        var better: Better
        var digits: Int
        var value: (BenchmarkRecord) -> Double?
    }

    /// The row whose cells show two counts, open and failed.
    static let openedLabel = "streams open / failed"

    func record(_ system: String, _ scenario: String) -> BenchmarkRecord? {
        records.last { $0.system == system && $0.scenario == scenario }
    }

    func render() -> String {
        var out: [String] = []
        out.append("# Benchmarks: sse-gateway against the floor and nginx + nchan")
        out.append("")
        out.append(
            "Written by `bench/run` (the Swift suite `sse-load suite`) from one run; every figure on this page comes "
                + "from that run, ours, the C floor server's and nchan's measured back to back on the same machine. "
                + "Rerun with `bench/run` (about 15–20 minutes; `bench/run --quick` for a smoke run of a few minutes).")
        out.append("")
        out.append(runSummary.trimmingCharacters(in: .whitespacesAndNewlines))
        out.append("")
        out.append("## How to read it")
        out.append("")
        out.append(Self.howToRead)
        out.append("")
        out.append("## Machine")
        out.append("")
        out.append(machine.trimmingCharacters(in: .whitespacesAndNewlines))
        out.append("")
        out += targetsSection()
        if let notes, !notes.isEmpty {
            out.append(notes.trimmingCharacters(in: .whitespacesAndNewlines))
            out.append("")
        }
        out += scenarioSections()
        out.append("## Commands")
        out.append("")
        out.append("Every process the run started, in order (`$W` is the run's work folder, with its logs):")
        out.append("")
        out.append("<details><summary>commands</summary>")
        out.append("")
        out.append("```sh")
        out.append(commands.trimmingCharacters(in: .whitespacesAndNewlines))
        out.append("```")
        out.append("")
        out.append("</details>")
        out.append("")
        return out.joined(separator: "\n")
    }

    // MARK: Scenarios

    private func scenarioSections() -> [String] {
        var lines: [String] = []
        for (scenario, title) in [
            ("S1", "S1: steady fan-out"), ("S2", "S2: many streams"), ("S3", "S3: 200,000 deliveries/s"),
            ("S4", "S4: memory per stream"), ("S5", "S5: as many idle streams as one process may open"),
            ("S6", "S6: accepting new streams"), ("S7", "S7: a topic per stream (per-user notifications)"),
            ("S8", "S8: 100,000 idle streams over five nodes (as many as fit)"),
        ] {
            let present = Self.systems.filter { record($0.key, scenario) != nil }
            guard !present.isEmpty else { continue }
            lines.append("## \(title)")
            lines.append("")
            lines.append(describe(scenario))
            lines.append("")
            lines += table(scenario, rows: rows(for: scenario))
            let notes = Self.systems.compactMap { system in
                record(system.key, scenario)?.note.map { "- \(system.label): \($0)" }
            }
            if !notes.isEmpty {
                lines.append("")
                lines += notes
            }
            lines.append("")
        }
        return lines
    }

    private func table(_ scenario: String, rows: [Row]) -> [String] {
        let systems = Self.systems.filter { record($0.key, scenario) != nil }
        let pairs = Self.pairs.filter { record($0.ours, scenario) != nil && record($0.peer, scenario) != nil }
        var lines = [
            "| figure | " + (systems.map(\.label) + pairs.map(\.label)).joined(separator: " | ") + " |",
            "| --- |" + String(repeating: " ---: |", count: systems.count + pairs.count),
        ]
        for row in rows {
            var cells = [row.label]
            for system in systems {
                let record = record(system.key, scenario)
                var text = Self.format(record.flatMap(row.value), row.digits)
                if row.label == Self.openedLabel, let subscribe = record?.subscribe {
                    text = "\(Self.grouped(Double(subscribe.connected))) / \(Self.grouped(Double(subscribe.failed)))"
                }
                cells.append(text)
            }
            for pair in pairs {
                guard row.better != .neither, let ours = record(pair.ours, scenario).flatMap(row.value),
                    let peer = record(pair.peer, scenario).flatMap(row.value)
                else {
                    cells.append("")
                    continue
                }
                cells.append(Self.ratioText(ours, peer))
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines
    }

    // MARK: Formatting

    static func ratioText(_ ours: Double, _ peer: Double) -> String {
        if peer == 0 { return ours == 0 ? "1.00" : "–" }
        return String(format: "%.2f", ours / peer)
    }

    static func format(_ value: Double?, _ digits: Int) -> String {
        guard let value, value.isFinite else { return "–" }
        return digits == 0 ? grouped(value) : String(format: "%.\(digits)f", value)
    }

    /// Whole number with thousands separators: 1,234,567.
    static func grouped(_ value: Double) -> String {
        let rounded = Int64(value.rounded())
        let digits = String(rounded.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (rounded < 0 ? "-" : "") + out
    }
}
