import Foundation
import SSEProtocol

/// `GET /sse-presence?topic=T`: one topic's presence across the live nodes, summed from their registry documents
/// (so it is at most a beat, one second, old).
public struct ClusterPresence: Codable, Sendable, Equatable {
    /// Most subjects listed (the first in sorted order of the union over nodes).
    public static let maximumSubjects = NodePresence.maximumSubjects

    public var topic: String
    /// Open streams of the topic, all nodes together.
    public var streams: Int
    /// The subjects of the topic's token-authorized streams on any node, sorted, at most ``maximumSubjects``.
    public var subjects: [String]
    /// More subjects exist than are listed (past the cap here, or on a node).
    public var subjectsTruncated: Bool
    /// Nodes with at least one stream of the topic.
    public var nodes: Int
    /// False when some live node listed only its top topics (``NodePresence/maximumTopics``) and this topic was not
    /// among them: its streams there, if any, are not counted.
    public var complete: Bool

    enum CodingKeys: String, CodingKey {
        case topic, streams, subjects, nodes, complete
        case subjectsTruncated = "subjects_truncated"
    }

    public init(topic: String, streams: Int, subjects: [String], subjectsTruncated: Bool, nodes: Int, complete: Bool) {
        self.topic = topic
        self.streams = streams
        self.subjects = subjects
        self.subjectsTruncated = subjectsTruncated
        self.nodes = nodes
        self.complete = complete
    }

    /// Sums `topic` over `documents` (the live nodes').
    public init(topic: String, documents: [NodeDocument]) {
        self.topic = topic
        var streams = 0
        var nodes = 0
        var subjects = Set<String>()
        var truncated = false
        var complete = true
        for document in documents {
            let listed = document.presence.topics ?? []
            guard let entry = listed.first(where: { $0.topic == topic }) else {
                if document.presence.topicsTotal > listed.count { complete = false }
                continue
            }
            streams += entry.streams
            nodes += 1
            subjects.formUnion(entry.subjects)
            if entry.subjectsTotal > entry.subjects.count { truncated = true }
        }
        let sorted = subjects.sorted()
        self.streams = streams
        self.nodes = nodes
        self.subjects = Array(sorted.prefix(Self.maximumSubjects))
        self.subjectsTruncated = truncated || sorted.count > Self.maximumSubjects
        self.complete = complete
    }

    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// `GET /sse-nodes`: the live nodes' summaries (``NodeDocument/summary``), by node id.
public struct NodeList: Codable, Sendable, Equatable {
    public var formatVersion: Int
    public var nodes: [NodeDocument]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "v"
        case nodes
    }

    public init(nodes: [NodeDocument]) {
        formatVersion = NodeDocument.currentFormat
        self.nodes = nodes
    }

    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
