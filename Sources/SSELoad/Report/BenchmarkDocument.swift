import Foundation

/// `docs/BENCHMARKS.md` from one suite run: every figure of every system, side by side, with ratios.
///
/// Systems are paired for ratios as ours ÷ nchan. Our node runs one event-loop thread per core (two here), so
/// "ours 1 node" is set against both nchan with 1 worker (one process each) and with 2 workers (both cores each);
/// two gateway nodes behind the project's nginx are set against nchan with 2 workers.
struct BenchmarkDocument {
    var records: [BenchmarkRecord]
    /// Markdown list lines describing the machine and versions (written by `bench/run`).
    var machine: String
    /// Every command the suite ran, in order.
    var commands: String
    /// The suite's settings line and timing (written by `bench/run`).
    var runSummary: String
    /// Hand-written findings (`bench/findings.md`), from the run they name: kept apart from the generated
    /// tables so that a rerun refreshes every figure without losing the analysis.
    var notes: String?

    static let systems: [(key: String, label: String)] = [
        ("ours-1", "ours, 1 node"), ("ours-2", "ours, 2 nodes + nginx"), ("nchan-1", "nchan, 1 worker"),
        ("nchan-2", "nchan, 2 workers"),
    ]
    static let pairs: [(ours: String, peer: String, label: String)] = [
        ("ours-1", "nchan-1", "ours 1 node ÷ nchan 1w"), ("ours-1", "nchan-2", "ours 1 node ÷ nchan 2w"),
        ("ours-2", "nchan-2", "ours 2 nodes ÷ nchan 2w"),
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
        out.append("# Benchmarks: sse-gateway against nginx + nchan")
        out.append("")
        out.append(
            "Written by `bench/run` from one run; every figure on this page comes from that run, ours and nchan's "
                + "measured back to back on the same machine. Rerun with `bench/run` (about 10 minutes; "
                + "`bench/run --quick` for a smoke run of about 3 minutes).")
        out.append("")
        out.append(runSummary.trimmingCharacters(in: .whitespacesAndNewlines))
        out.append("")
        out.append("## How to read it")
        out.append("")
        out.append(
            """
            - **Ratio** = ours ÷ nchan. For delivered events/s higher is better (ratio ≥ 1 means ours is at least \
            as good); for latency, memory, time and CPU lower is better (ratio ≤ 1). Our node runs one event-loop \
            thread per core (two here), so it is compared both with nchan in 1 worker and in 2 workers; two gateway \
            nodes behind the project's nginx (`nginx/nginx.conf`, `deploy/nginx-cluster-conf`) with nchan in 2 workers.
            - **Everything shares 2 cores**: the load generator (`sse-load`, SwiftNIO, 2 threads per process), \
            redis-server, the gateway or nginx+nchan, and for two nodes a second gateway and the proxying nginx. \
            Other engineers' builds and tests ran on the same machine during the run; the row "everything else on \
            the machine" shows how much CPU they (and the kernel's network work not charged to any process) took \
            in each measurement, and scenarios run system after system back to back so such load falls on all \
            systems alike. Absolute figures are floors set by that sharing; the ratios are what carries over. CPU \
            rows say who used the cores: "% of a core" over the measuring window (from the publisher's start to the \
            last event received in S1–S3, the idle hold in S4–S5), from `utime + stime` in `/proc/PID/stat` and \
            the busy time in `/proc/stat`.
            - **Delivery**: each event's data is `seq=<n> t=<ns>` padded to the size; each stream checks the \
            sequence (a jump is a gap, a repeat a duplicate) and times `now − t` (publisher and clients on one \
            clock). Delivered events/s = unique events received by all streams ÷ time from the first to the last. \
            *Missing* = events accepted by the server × streams − unique events received (gaps plus lost tails).
            - **Publishing**: ours through the reliable path (`FCALL sse_publish`: history append + publish, \
            global id); nchan by `POST` to its publisher location with Redis storage (nchan also stores every \
            message in Redis). Pipelined, up to 64 events unanswered per connection; one connection in S1–S2, four in S3 \
            (nginx answers one connection's requests one at a time), each numbered as its own lane so that order, \
            gaps and duplicates are still checked exactly.
            - **Memory**: resident size (`VmRSS`) of the server processes (all nginx processes for nchan; the \
            gateway node(s) for ours, the proxy listed apart). KB per stream = (RSS with the streams − RSS \
            before) ÷ streams.
            """)
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

    // MARK: Targets

    private func targetsSection() -> [String] {
        var lines = [
            "## Targets", "",
            "The issue's targets for one gateway node, judged against nchan in 1 and in 2 workers.", "",
            "| target | ours, 1 node | nchan, 1 worker | nchan, 2 workers | met vs 1w | met vs 2w |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        func rate(_ record: BenchmarkRecord?) -> Double? { record?.subscribe?.eventsPerSecond }
        func p99(_ record: BenchmarkRecord?) -> Double? { record?.subscribe?.latencyMs?.p99 }
        func kbPerStream(_ record: BenchmarkRecord?) -> Double? { record?.kilobytesPerStream }
        func add(
            _ label: String, _ scenario: String, _ value: (BenchmarkRecord?) -> Double?, _ better: Better, _ digits: Int
        ) {
            let ours = value(record("ours-1", scenario))
            let one = value(record("nchan-1", scenario))
            let two = value(record("nchan-2", scenario))
            // A rate that delivered every accepted event cannot be beaten: the offered rate bounds it, and the last
            // digit of two such rates is timing noise.
            let deliveredAll = better == .higher && record("ours-1", scenario)?.subscribe?.missing == 0
            func met(_ peer: Double?) -> String {
                guard let ours, let peer else { return "–" }
                if deliveredAll, ours < peer { return "yes, all delivered (\(Self.ratioText(ours, peer)))" }
                let ok = better == .higher ? ours >= peer : ours <= peer
                return (ok ? "yes" : "**no**") + " (\(Self.ratioText(ours, peer)))"
            }
            lines.append(
                "| \(label) | \(Self.format(ours, digits)) | \(Self.format(one, digits)) | \(Self.format(two, digits)) "
                    + "| \(met(one)) | \(met(two)) |")
        }
        add("S1 delivered events/s ≥ nchan", "S1", rate, .higher, 0)
        add("S2 delivered events/s ≥ nchan", "S2", rate, .higher, 0)
        add("S3 delivered events/s ≥ nchan", "S3", rate, .higher, 0)
        add("S1 p99 latency (ms) ≤ nchan", "S1", p99, .lower, 2)
        add("S2 p99 latency (ms) ≤ nchan", "S2", p99, .lower, 2)
        add("S4 KB per stream ≤ nchan", "S4", kbPerStream, .lower, 2)
        for scenario in ["S1", "S2"] {
            let ours = record("ours-1", scenario)?.subscribe
            let text = ours.map { "\($0.gaps) gaps, \($0.missing.map(String.init) ?? "?") missing" } ?? "–"
            let ok = ours.map { $0.gaps == 0 && ($0.missing ?? 1) == 0 && $0.duplicates == 0 }
            let verdict = ok.map { $0 ? "yes" : "**no**" } ?? "–"
            lines.append("| \(scenario) zero gaps (ours) | \(text) | | | \(verdict) | \(verdict) |")
        }
        if let s5 = record("ours-1", "S5"), let subscribe = s5.subscribe {
            let ok = subscribe.connected >= 19_500 && subscribe.dropped == 0 && (s5.heartbeatsReceived ?? 0) > 0
            let text =
                "\(subscribe.connected) open, \(subscribe.dropped) dropped, \(s5.heartbeatsReceived ?? 0) heartbeats"
            lines.append(
                "| S5 one node holds 19,500 streams with heartbeats | \(text) | | | \(ok ? "yes" : "**no**") | \(ok ? "yes" : "**no**") |"
            )
        }
        lines.append("")
        return lines
    }

    // MARK: Scenarios

    private func scenarioSections() -> [String] {
        var lines: [String] = []
        for (scenario, title) in [
            ("S1", "S1: steady fan-out"), ("S2", "S2: many streams"), ("S3", "S3: saturation"),
            ("S4", "S4: memory per stream"), ("S5", "S5: as many idle streams as one process may open"),
            ("S6", "S6: accepting new streams"),
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

    /// The scenario's sizes, as run.
    private func describe(_ scenario: String) -> String {
        let any = Self.systems.lazy.compactMap { record($0.key, scenario) }.first
        let streams = any?.subscribe?.requested ?? 0
        let publish = any?.publish
        let rate = publish.map {
            $0.rate > 0 ? "\(Self.grouped(Double($0.rate))) events/s" : "as fast as replies allow"
        }
        let size = publish.map { "\($0.size) bytes" } ?? ""
        switch scenario {
        case "S1", "S2":
            return "\(Self.grouped(Double(streams))) streams on one topic; \(rate ?? "?") of \(size) for "
                + "\(Self.format(any?.publish?.seconds, 1)) s."
        case "S3":
            return "\(Self.grouped(Double(streams))) streams on one topic; events of \(size) published "
                + "\(rate ?? "?") over \(publish?.connections ?? 1) connections (64 unanswered at most on each) for "
                + "about \(Self.format(any?.publish?.seconds, 0)) s; the streams are cut "
                + "\(Self.format(any?.drainSeconds, 0)) s after they opened plus the publishing time. What the server "
                + "accepted but had not delivered by then is *missing*. Redis keeps its default limit on a pub/sub "
                + "client's unread output (`client-output-buffer-limit pubsub 32mb 8mb 60`) for both systems: a "
                + "subscriber connection (a gateway node's, or an nchan worker's) that falls that far behind is "
                + "disconnected by Redis."
        case "S4":
            return "Resident size of a fresh server, then with \(Self.grouped(Double(streams))) idle streams open."
        case "S5":
            return "\(Self.grouped(Double(streams))) idle streams from several load processes (the process file limit "
                + "is 20,000 and cannot be raised), heartbeats every \(Self.format(any?.heartbeatSeconds, 0)) s; "
                + "CPU over a hold of \(Self.format(any?.windowSeconds, 0)) s."
        default:
            return "Time to open \(Self.grouped(Double(streams))) new streams on a fresh server (500 being opened at "
                + "once; a stream is open when its response head has arrived). The same opening as S4."
        }
    }

    private func table(_ scenario: String, rows: [Row]) -> [String] {
        var lines = [
            "| figure | " + Self.systems.map(\.label).joined(separator: " | ") + " | "
                + Self.pairs.map(\.label).joined(separator: " | ") + " |",
            "| --- |" + String(repeating: " ---: |", count: Self.systems.count + Self.pairs.count),
        ]
        for row in rows {
            var cells = [row.label]
            for system in Self.systems {
                let record = record(system.key, scenario)
                var text = Self.format(record.flatMap(row.value), row.digits)
                if row.label == Self.openedLabel, let subscribe = record?.subscribe {
                    text = "\(Self.grouped(Double(subscribe.connected))) / \(Self.grouped(Double(subscribe.failed)))"
                }
                cells.append(text)
            }
            for pair in Self.pairs {
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
