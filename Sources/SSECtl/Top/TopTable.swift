import ArgumentParser
import Foundation
import SSEProtocol

/// The order of `ssectl top`'s rows (`--sort`).
enum TopOrder: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// By node id (the default): rows stay put between refreshes.
    case node
    /// Most open streams first.
    case streams
    /// Most events per second first.
    case events
    /// Worst delivery p99 first (nodes without a measurement after those with one).
    case p99
}

/// The text of one snapshot: a row per node and the totals, as cells, shared by the plain and the terminal output.
///
/// A live node shows its last beat's figures; a down node shows only its id, `down` and how long ago it last beat
/// (`-` elsewhere: it has no streams now, and its old figures are not counted in the totals). `sheds` adds the
/// deliveries shed and the connections shed. Figures come with one decimal (events/s, milliseconds, seconds).
struct TopTable: Equatable {
    /// The plain header, one word per column (what scripts split on).
    static let columns = [
        "node", "state", "streams", "events_per_s", "p50_ms", "p99_ms", "links", "slow_cuts", "sheds", "resyncs",
        "age_s",
    ]
    /// The terminal header.
    static let titles = [
        "NODE", "STATE", "STREAMS", "EVENTS/S", "P50 MS", "P99 MS", "LINKS", "SLOW CUTS", "SHEDS", "RESYNCS", "AGE S",
    ]

    var rows: [[String]]
    var total: [String]
    /// Each row's state, for the terminal's colours.
    var states: [String]

    init(_ snapshot: RegistrySnapshot, order: TopOrder = .node) {
        let now = snapshot.takenMilliseconds
        let live = snapshot.live.sorted(by: Self.ordering(order))
        var entries: [(id: String, state: String, cells: [String])] = live.map { node in
            (node.nodeID, node.state.rawValue, Self.cells(node, now: now))
        }
        entries += snapshot.down.map { node in
            let age = Self.seconds(now - node.lastBeatMilliseconds)
            return (node.nodeID, "down", [node.nodeID, "down"] + Array(repeating: "-", count: 8) + [age])
        }
        if order == .node { entries.sort { $0.id < $1.id } }
        rows = entries.map(\.cells)
        states = entries.map(\.state)

        func count(_ state: NodeDocument.State) -> Int { snapshot.live.filter { $0.state == state }.count }
        let counts = [
            "ready=\(count(.ready))", "draining=\(count(.draining))", "not-ready=\(count(.notReady))",
            "down=\(snapshot.down.count)",
        ]
        let nodes = snapshot.live
        let worst = nodes.compactMap(\.deliveryP99Milliseconds).max()
        total = [
            "total", counts.joined(separator: " "), String(nodes.map(\.streams).reduce(0, +)),
            Self.decimal(nodes.map(\.eventsPerSecond).reduce(0, +)), "-", worst.map(Self.decimal) ?? "-",
            "\(nodes.map(\.redisLinksUp).reduce(0, +))/\(nodes.map(\.redisLinksTotal).reduce(0, +))",
            String(nodes.map(\.slowConsumerCuts).reduce(0, +)),
            String(nodes.map { $0.shedDeliveries + $0.shedConnections }.reduce(0, +)),
            String(nodes.map(\.resyncs).reduce(0, +)), "-",
        ]
    }

    /// The plain block: the header, one tab-separated line per node, the `total` line; each ends in a newline.
    var plain: String {
        ([Self.columns] + rows + [total]).map { $0.joined(separator: "\t") + "\n" }.joined()
    }

    /// The lines of the terminal table: columns padded to their widest cell (text left, figures right), a rule,
    /// the totals (their state cell left empty) and a line counting the nodes by state. No colour here
    /// (``TopScreen`` adds it).
    var aligned: [String] {
        var totals = total
        totals[1] = ""
        let all = [Self.titles] + rows + [totals]
        let widths = Self.titles.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column < 2 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        let rule = String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))
        let counts = total[1].split(separator: " ").map { $0.replacingOccurrences(of: "=", with: ": ") }
        return [line(Self.titles)] + rows.map(line) + [rule, line(totals), "nodes  " + counts.joined(separator: "  ")]
    }

    private static func cells(_ node: NodeDocument, now: Int64) -> [String] {
        [
            node.nodeID, node.state.rawValue, String(node.streams), decimal(node.eventsPerSecond),
            node.deliveryP50Milliseconds.map(decimal) ?? "-", node.deliveryP99Milliseconds.map(decimal) ?? "-",
            "\(node.redisLinksUp)/\(node.redisLinksTotal)", String(node.slowConsumerCuts),
            String(node.shedDeliveries + node.shedConnections), String(node.resyncs),
            seconds(now - node.atMilliseconds),
        ]
    }

    /// Live nodes in `order`, ties by node id.
    private static func ordering(_ order: TopOrder) -> (NodeDocument, NodeDocument) -> Bool {
        { a, b in
            switch order {
            case .node: return a.nodeID < b.nodeID
            case .streams: return a.streams != b.streams ? a.streams > b.streams : a.nodeID < b.nodeID
            case .events:
                return a.eventsPerSecond != b.eventsPerSecond
                    ? a.eventsPerSecond > b.eventsPerSecond : a.nodeID < b.nodeID
            case .p99:
                let (x, y) = (a.deliveryP99Milliseconds ?? -1, b.deliveryP99Milliseconds ?? -1)
                return x != y ? x > y : a.nodeID < b.nodeID
            }
        }
    }

    static func decimal(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Milliseconds as seconds with one decimal, never negative (clocks of different machines may disagree a little).
    static func seconds(_ milliseconds: Int64) -> String { decimal(Double(max(0, milliseconds)) / 1000) }
}
