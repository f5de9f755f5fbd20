import Foundation
import SSEProtocol

/// The HTML of `GET /dashboard`: the cluster's totals, a row per node and three charts of the last five minutes,
/// rendered from the registry (``ClusterState``), so a refresh without JavaScript shows the current state.
/// `dashboard.js` then follows the topic `sse.nodes` through the gateway and keeps the same markup live.
///
/// Every value from Redis goes through ``HTML/escape(_:)``; the state handed to the script is JSON inside a
/// `<script type="application/json">`, with `<` escaped so no value can close it.
struct DashboardPage: Sendable {
    var state: ClusterState
    /// The gateway's stream URL (`SSE_URL`, the same as the board's).
    var sseURL: String
    var scriptVersion: String
    /// Why the registry could not be read (shown above the totals); nil when it was.
    var problem: String? = nil

    /// The columns of the node table: header, field of the row, and its text for a document.
    static let columns: [(header: String, field: String, value: @Sendable (NodeDocument) -> String)] = [
        ("Streams", "streams", { "\($0.streams)" }),
        ("Events/s", "events_per_second", { number($0.eventsPerSecond) }),
        ("p50 ms", "delivery_p50_ms", { $0.deliveryP50Milliseconds.map(number) ?? "–" }),
        ("p99 ms", "delivery_p99_ms", { $0.deliveryP99Milliseconds.map(number) ?? "–" }),
        ("Redis links", "redis_links", { "\($0.redisLinksUp)/\($0.redisLinksTotal)" }),
        ("Slow cuts", "slow_consumer_cuts", { "\($0.slowConsumerCuts)" }),
        ("Sheds", "shed_deliveries", { "\($0.shedDeliveries)" }),
        ("Resyncs", "resyncs", { "\($0.resyncs)" }),
    ]

    /// At most one decimal, as `dashboard.js` shows numbers.
    static func number(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? String(Int(tenths / 10)) : String(tenths / 10)
    }

    /// The three charts: a series per node of one figure.
    var charts: [SVGChart] {
        func chart(_ title: String, _ unit: String, _ value: (NodeDocument) -> Double?) -> SVGChart {
            SVGChart(
                title: title, unit: unit,
                series: state.nodes.map { node in
                    SVGChart.Series(
                        name: node.id,
                        points: node.beats.compactMap { beat in value(beat).map { (beat.atMilliseconds, $0) } })
                }, now: state.readAt)
        }
        return [
            chart("Streams", "", { Double($0.streams) }),
            chart("Events/s", "", { $0.eventsPerSecond }),
            chart("Delivery p99", "ms", { $0.deliveryP99Milliseconds }),
        ]
    }

    var html: String {
        let totals = state.totals
        var rows = ""
        for node in state.nodes {
            rows +=
                "<tr data-node=\"\(HTML.escape(node.id))\" data-state=\"\(node.stateName)\">"
                + "<th scope=\"row\">\(HTML.escape(node.id))</th>"
                + "<td data-field=\"state\"><span class=\"state\">\(node.stateName)</span></td>"
            for column in Self.columns {
                let text = node.document.map(column.value) ?? "–"
                rows += "<td data-field=\"\(column.field)\">\(HTML.escape(text))</td>"
            }
            rows += "</tr>"
        }
        if state.nodes.isEmpty {
            rows = "<tr class=\"none\"><td colspan=\"\(Self.columns.count + 2)\">No node has registered.</td></tr>"
        }
        let headers = Self.columns.map { "<th scope=\"col\">\($0.header)</th>" }.joined()
        let charts = zip(charts, ["streams", "events_per_second", "delivery_p99_ms"]).map { chart, field in
            "<figure data-chart=\"\(field)\"><figcaption>\(HTML.escape(chart.title))"
                + (chart.unit.isEmpty ? "" : " (\(chart.unit))") + "</figcaption>\(chart.svg)</figure>"
        }.joined()
        let legend = state.nodes.enumerated().map { index, node in
            "<li class=\"s\(index % 6)\" data-node=\"\(HTML.escape(node.id))\">\(HTML.escape(node.id))</li>"
        }.joined()
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>SSE cluster</title>
            <link rel="icon" href="data:,">
            <style>\(Self.style)</style>
            </head>
            <body>
            <main>
            <header><h1>SSE cluster</h1><span class="live" data-live data-state="static">static page: refresh to update</span></header>
            \(problem.map { "<p class=\"problem\" role=\"alert\">\(HTML.escape($0))</p>" } ?? "")
            <section class="totals" aria-label="Cluster totals">
            \(Self.total("Nodes ready", "ready", "\(totals.ready)"))\(Self.total("Draining", "draining", "\(totals.draining)"))\
            \(Self.total("Down", "down", "\(totals.down)"))\(Self.total("Streams", "streams", "\(totals.streams)"))\
            \(Self.total("Events/s", "events_per_second", Self.number(totals.eventsPerSecond)))\
            \(Self.total("Worst p99 ms", "worst_p99", totals.worstP99.map(Self.number) ?? "–"))\
            \(Self.total("Slow cuts", "slow_consumer_cuts", "\(totals.slowConsumerCuts)"))\
            \(Self.total("Sheds", "shed_deliveries", "\(totals.shedDeliveries)"))\
            \(Self.total("Resyncs", "resyncs", "\(totals.resyncs)"))
            </section>
            <table class="nodes"><thead><tr><th scope="col">Node</th><th scope="col">State</th>\(headers)</tr></thead>
            <tbody data-nodes>\(rows)</tbody></table>
            <ul class="legend" data-legend>\(legend)</ul>
            <section class="charts">\(charts)</section>
            </main>
            <script type="application/json" id="cluster-state">\(scriptState)</script>
            <script src="/dashboard.js?v=\(HTML.escape(scriptVersion))" defer data-sse-url="\(HTML.escape(sseURL))" data-topic="\(NodeRegistryKeys.topic.name)"></script>
            </body>
            </html>

            """
    }

    static func total(_ label: String, _ field: String, _ value: String) -> String {
        "<div class=\"total\" data-total=\"\(field)\"><span class=\"value\">\(HTML.escape(value))</span>"
            + "<span class=\"label\">\(label)</span></div>"
    }

    /// What the script starts from: the read time, each node's state and newest summary, and its beats.
    var scriptState: String {
        struct Beat: Encodable {
            var at: Int64
            var streams: Int
            var eps: Double
            var p99: Double?
        }
        struct Node: Encodable {
            var id: String
            var down: Bool
            var document: NodeDocument?
            var beats: [Beat]
        }
        struct State: Encodable {
            var now: Int64
            var nodes: [Node]
        }
        let state = State(
            now: state.readAt,
            nodes: state.nodes.map { node in
                Node(
                    id: node.id, down: node.isDown, document: node.document?.summary,
                    beats: node.beats.map {
                        Beat(
                            at: $0.atMilliseconds, streams: $0.streams, eps: $0.eventsPerSecond,
                            p99: $0.deliveryP99Milliseconds)
                    })
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = (try? encoder.encode(state)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return text.replacingOccurrences(of: "<", with: "\\u003c")
    }

    static let style = """
        :root { font-family: system-ui, sans-serif; color: #1d232a; background: #f5f6f8; }
        body { margin: 0; } main { max-width: 64rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
        header { display: flex; align-items: baseline; justify-content: space-between; gap: 1rem; }
        h1 { margin: 0 0 .75rem; font-size: 1.5rem; }
        .live { padding: .1rem .5rem; border-radius: 1rem; background: #dde1e6; font-size: .85rem; }
        .live[data-state="live"] { background: #c9f0d3; color: #135c2a; }
        .live[data-state="reconnecting"] { background: #ffe9b3; color: #6b4a00; }
        .problem { padding: .5rem .9rem; border-radius: .4rem; background: #f6c9c9; color: #7a1010; }
        .totals { display: grid; grid-template-columns: repeat(auto-fill, minmax(6.4rem, 1fr)); gap: .5rem; }
        .total { background: #fff; border-radius: .5rem; padding: .5rem .75rem; box-shadow: 0 1px 2px #0002; }
        .total .value { display: block; font-size: 1.4rem; font-variant-numeric: tabular-nums; }
        .total .label { color: #56606b; font-size: .85rem; }
        .nodes { width: 100%; margin: 1rem 0; border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
        .nodes th, .nodes td { padding: .4rem .6rem; text-align: right; border-bottom: 1px solid #e3e6ea; }
        .nodes th[scope="row"], .nodes thead th:first-child { text-align: left; }
        .state { padding: .05rem .45rem; border-radius: 1rem; background: #dde1e6; }
        tr[data-state="ready"] .state { background: #c9f0d3; color: #135c2a; }
        tr[data-state="draining"] .state, tr[data-state="not-ready"] .state { background: #ffe9b3; color: #6b4a00; }
        tr[data-state="down"] .state, tr[data-state="stopped"] .state { background: #f6c9c9; color: #7a1010; }
        tr[data-state="down"], tr[data-state="stopped"] { color: #8a929b; }
        .legend { display: flex; gap: 1rem; padding: 0; list-style: none; }
        .legend li::before { content: ""; display: inline-block; width: .8rem; height: .25rem; margin-right: .3rem;
          vertical-align: middle; background: currentColor; }
        .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(28rem, 1fr)); gap: .75rem; }
        figure { margin: 0; background: #fff; border-radius: .5rem; padding: .5rem; box-shadow: 0 1px 2px #0002; }
        figcaption { color: #56606b; font-size: .9rem; }
        .chart { width: 100%; height: auto; }
        .chart .axis { stroke: #b8bfc7; } .chart .tick { font-size: 13px; fill: #56606b; }
        .chart .series { fill: none; stroke-width: 2; stroke: currentColor; }
        .s0 { color: #2457c5; } .s1 { color: #d9480f; } .s2 { color: #2b8a3e; } .s3 { color: #862e9c; }
        .s4 { color: #c2255c; } .s5 { color: #1098ad; }
        """
}
