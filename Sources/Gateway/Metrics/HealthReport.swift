import Foundation
import SSEProtocol

/// The document of `GET /sse-health`: the node's streams in aggregate, and the top N of them by one order with
/// each one's details. Public and decodable, like ``MetricsSnapshot``, so tools read it as typed fields.
///
/// It says who is connected and how each connection fares, never what authorized it: no token, cookie or
/// `Authorization` value appears (the peer address and the topics do).
public struct HealthReport: Codable, Sendable, Equatable {
    /// One open stream.
    public struct Connection: Codable, Sendable, Equatable {
        public var topics: [String]
        /// The dialect it asked for (`engine`, `htmx`, `datastar`, `turbo`).
        public var dialect: String
        /// The socket's peer, `host:port` (`[v6]:port`); behind nginx, nginx's address. Nil once the socket is gone.
        public var peer: String?
        /// The event loop holding it (0-based).
        public var loop: Int
        public var ageSeconds: Double
        /// Seconds since the node last wrote to it (an event, a heartbeat or a notice).
        public var idleSeconds: Double
        /// Bytes written to the channel but not yet taken by the socket, plus live frames parked during a replay.
        public var unsentBytes: Int
        /// Events written to it: live, replayed and caught up.
        public var eventsSent: Int
        /// Waiting for a history read (a reconnect's replay or a catch-up).
        public var replaying: Bool

        enum CodingKeys: String, CodingKey {
            case topics, dialect, peer, loop, replaying
            case ageSeconds = "age_seconds"
            case idleSeconds = "idle_seconds"
            case unsentBytes = "unsent_bytes"
            case eventsSent = "events_sent"
        }
    }

    public var nodeID: String
    public var streams: Int
    /// Open streams per dialect, every dialect listed.
    public var streamsByDialect: [String: Int]
    public var replayingStreams: Int
    /// The sum of every stream's ``Connection/unsentBytes``.
    public var unsentBytes: Int
    /// The age of the oldest open stream; 0 without streams.
    public var oldestStreamSeconds: Double
    /// The order of ``connections`` (`age`, `idle`, `unsent`, `events`; largest first) and the most it lists.
    public var order: String
    public var top: Int
    /// Event loops asked, and those that answered in time (``HealthGathering/timeout``): a loop too busy to answer
    /// is left out of every figure rather than waited for.
    public var loops: Int
    public var loopsAnswered: Int
    public var connections: [Connection]

    enum CodingKeys: String, CodingKey {
        case streams, order, top, loops, connections
        case nodeID = "node_id"
        case streamsByDialect = "streams_by_dialect"
        case replayingStreams = "replaying_streams"
        case unsentBytes = "unsent_bytes"
        case oldestStreamSeconds = "oldest_stream_seconds"
        case loopsAnswered = "loops_answered"
    }

    static func encode(_ report: HealthReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(report)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// What `/sse-health` lists first (`order=`), largest first; ties go to the older stream.
enum HealthOrder: String, CaseIterable, Sendable {
    case age, idle, unsent, events
}

/// One loop's answer to `/sse-health` (``LoopHub/health(order:top:)``): its aggregate, and its own top N with
/// their sort keys, so that the answers of all loops merge into the node's top N.
struct LoopHealth: Sendable {
    struct Entry: Sendable {
        /// The order's figure (nanoseconds, bytes or events), larger first.
        let key: Int64
        /// When the stream opened (uptime nanoseconds): the tie-break, older first.
        let openedAt: UInt64
        let connection: HealthReport.Connection
    }

    var streams = 0
    var byDialect: [Int] = Array(repeating: 0, count: Dialect.allCases.count)
    var replaying = 0
    var unsentBytes = 0
    var oldestAgeNanoseconds: Int64 = 0
    var top: [Entry] = []

    /// Entries in the report's order: larger key first, then older.
    static func ordered(_ first: Entry, _ second: Entry) -> Bool {
        first.key != second.key ? first.key > second.key : first.openedAt < second.openedAt
    }

    /// The node's report from the answers of the loops that answered.
    static func report(
        _ answers: [LoopHealth], loops: Int, nodeID: String, order: HealthOrder, top: Int
    ) -> HealthReport {
        var byDialect = Array(repeating: 0, count: Dialect.allCases.count)
        var entries: [Entry] = []
        for answer in answers {
            for index in byDialect.indices { byDialect[index] += answer.byDialect[index] }
            entries += answer.top
        }
        entries.sort(by: ordered)
        let oldest = answers.map(\.oldestAgeNanoseconds).max() ?? 0
        return HealthReport(
            nodeID: nodeID, streams: answers.reduce(0) { $0 + $1.streams },
            streamsByDialect: Dictionary(
                uniqueKeysWithValues: Dialect.allCases.map { ($0.rawValue, byDialect[$0.slot]) }),
            replayingStreams: answers.reduce(0) { $0 + $1.replaying },
            unsentBytes: answers.reduce(0) { $0 + $1.unsentBytes }, oldestStreamSeconds: seconds(oldest),
            order: order.rawValue, top: top, loops: loops, loopsAnswered: answers.count,
            connections: entries.prefix(top).map(\.connection))
    }

    /// Nanoseconds as seconds, to the millisecond.
    static func seconds(_ nanoseconds: Int64) -> Double { (Double(nanoseconds) / 1_000_000).rounded() / 1000 }
}
