import SSEProtocol
import Testing

@testable import SSECtl

/// `ssectl top`'s table from snapshots built here: the order of rows, the cells of live and down nodes, the totals
/// and the terminal's column alignment. (The suites beside it read real nodes; this pins the formatting.)
@Suite("ssectl top's table")
struct TopTableTests {
    static func node(
        _ id: String, state: NodeDocument.State = .ready, streams: Int, events: Double, p99: Double?, at: Int64
    ) -> NodeDocument {
        NodeDocument(
            nodeID: id, startedMilliseconds: 0, atMilliseconds: at, beat: 1, ttlMilliseconds: 3000, state: state,
            streams: streams, eventsPerSecond: events, connectionsTotal: streams, slowConsumerCuts: 1,
            shedDeliveries: 2, shedConnections: 3, resyncs: 4, redisLinksUp: 1, redisLinksTotal: 2,
            deliveryP50Milliseconds: p99.map { $0 / 2 }, deliveryP99Milliseconds: p99)
    }

    static let snapshot = RegistrySnapshot(
        live: [
            node("b", state: .draining, streams: 5, events: 1.25, p99: 40, at: 9_600),
            node("c", streams: 9, events: 0, p99: nil, at: 10_000),
            node("d", streams: 5, events: 12, p99: 7.5, at: 9_000),
        ],
        down: [.init(nodeID: "a", expiredMilliseconds: 6_000, lastBeat: nil)], takenMilliseconds: 10_000)

    @Test func rowsByNodeIDInterleaveTheDownNodeAndTheTotalsCountOnlyLiveNodes() {
        let table = TopTable(Self.snapshot)
        #expect(
            table.rows == [
                ["a", "down", "-", "-", "-", "-", "-", "-", "-", "-", "7.0"],
                ["b", "draining", "5", "1.2", "20.0", "40.0", "1/2", "1", "5", "4", "0.4"],
                ["c", "ready", "9", "0.0", "-", "-", "1/2", "1", "5", "4", "0.0"],
                ["d", "ready", "5", "12.0", "3.8", "7.5", "1/2", "1", "5", "4", "1.0"],
            ])
        #expect(table.states == ["down", "draining", "ready", "ready"])
        #expect(
            table.total == [
                "total", "ready=2 draining=1 not-ready=0 down=1", "19", "13.2", "-", "40.0", "3/6", "3", "15", "12",
                "-",
            ])
    }

    @Test func otherOrdersPutTheMostFirstTiesByIDAndDownNodesLast() {
        #expect(TopTable(Self.snapshot, order: .streams).rows.map { $0[0] } == ["c", "b", "d", "a"])
        #expect(TopTable(Self.snapshot, order: .events).rows.map { $0[0] } == ["d", "b", "c", "a"])
        #expect(TopTable(Self.snapshot, order: .p99).rows.map { $0[0] } == ["b", "d", "c", "a"])
    }

    @Test func plainIsTheHeaderTabSeparatedRowsAndTheTotal() {
        let empty = TopTable(RegistrySnapshot(live: [], down: [], takenMilliseconds: 0))
        #expect(
            empty.plain
                == "node\tstate\tstreams\tevents_per_s\tp50_ms\tp99_ms\tlinks\tslow_cuts\tsheds\tresyncs\tage_s\n"
                + "total\tready=0 draining=0 not-ready=0 down=0\t0\t0.0\t-\t-\t0/0\t0\t0\t0\t-\n")
        let lines = TopTable(Self.snapshot).plain.split(separator: "\n")
        #expect(lines.count == 6)
        #expect(lines.allSatisfy { $0.split(separator: "\t", omittingEmptySubsequences: false).count == 11 })
    }

    @Test func theTerminalTablePadsEveryColumnToItsWidestCell() {
        let lines = TopTable(Self.snapshot).aligned
        #expect(lines.count == 8)
        #expect(Set(lines.dropLast().map(\.count)) == [91], "\(lines)")
        #expect(
            lines[0] == "NODE   STATE     STREAMS  EVENTS/S  P50 MS  P99 MS  LINKS  SLOW CUTS  SHEDS  RESYNCS  AGE S")
        #expect(
            lines[1] == "a      down            -         -       -       -      -          -      -        -    7.0")
        #expect(
            lines[2] == "b      draining        5       1.2    20.0    40.0    1/2          1      5        4    0.4")
        #expect(lines[5] == String(repeating: "-", count: 91))
        #expect(
            lines[6] == "total                 19      13.2       -    40.0    3/6          3     15       12      -")
        #expect(lines[7] == "nodes  ready: 2  draining: 1  not-ready: 0  down: 1")
    }
}
