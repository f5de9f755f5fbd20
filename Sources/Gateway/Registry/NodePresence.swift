import NIOCore
import SSEProtocol
import Synchronization

/// Who is on this node: open streams per topic and, per topic, the subjects of streams opened with a token.
///
/// Updated when a stream opens and when its channel closes (one lock and a few dictionary updates each, never per
/// event); read once a second by the registry beat, which takes a copy-on-write snapshot under the lock and sorts
/// outside it. A subject's first stream of a topic on the node and its last are transitions, handed in order to
/// ``onTransition`` (the join/leave events).
public final class NodePresence: Sendable {
    /// Most topics listed in a node's document (those with the most streams, ties by name).
    public static let maximumTopics = 1000
    /// Most subjects listed per topic (the first in sorted order).
    public static let maximumSubjects = 100

    /// A subject's first stream of a topic on this node opened (`join`), or its last closed (`leave`).
    struct Transition: Sendable, Equatable {
        enum Kind: String, Sendable { case join, leave }
        var kind: Kind
        var topic: Topic
        var subject: String
    }

    struct TopicCount: Sendable {
        var streams = 0
        /// Open streams per subject.
        var subjects: [String: Int] = [:]
    }

    private let table = Mutex<[Topic: TopicCount]>([:])
    /// Called under the lock, so transitions arrive in the order they happened; must be quick (a yield).
    private let onTransition: (@Sendable (Transition) -> Void)?

    public init() { onTransition = nil }

    init(onTransition: (@Sendable (Transition) -> Void)?) {
        self.onTransition = onTransition
    }

    /// Counts a stream of `topics` until `closed` completes; `subject(topic)` is the token's subject for each topic
    /// it authorized (nil for public topics and streams without a token).
    func track(_ topics: [Topic], subject: (Topic) -> String?, until closed: EventLoopFuture<Void>) {
        let entries = topics.map { ($0, subject($0)) }
        opened(entries)
        closed.whenComplete { [self] _ in self.closed(entries) }
    }

    public func opened(_ entries: [(Topic, String?)]) {
        table.withLock { table in
            for (topic, subject) in entries {
                table[topic, default: TopicCount()].streams += 1
                guard let subject else { continue }
                let count = (table[topic]!.subjects[subject] ?? 0) + 1
                table[topic]!.subjects[subject] = count
                if count == 1 { onTransition?(Transition(kind: .join, topic: topic, subject: subject)) }
            }
        }
    }

    public func closed(_ entries: [(Topic, String?)]) {
        table.withLock { table in
            // Updated in place (`table[topic]!`): a copy of the entry would copy its subjects on every close.
            for (topic, subject) in entries where table[topic] != nil {
                table[topic]!.streams -= 1
                if let subject, let streams = table[topic]!.subjects[subject] {
                    if streams <= 1 {
                        table[topic]!.subjects[subject] = nil
                        onTransition?(Transition(kind: .leave, topic: topic, subject: subject))
                    } else {
                        table[topic]!.subjects[subject] = streams - 1
                    }
                }
                if table[topic]!.streams <= 0 { table[topic] = nil }
            }
        }
    }

    /// The document's presence: every topic counted, the ``maximumTopics`` with the most streams listed (with
    /// their subjects when `listed`; none otherwise, for the published summary).
    public func snapshot(listed: Bool = true) -> NodeDocument.Presence {
        let table = self.table.withLock { $0 }
        guard listed else { return NodeDocument.Presence(topicsTotal: table.count, topics: nil) }
        var chosen = Array(table)
        if chosen.count > Self.maximumTopics {
            // Partial order would do; a full sort of 10,000 entries is a millisecond once a second.
            chosen.sort { $0.value.streams != $1.value.streams ? $0.value.streams > $1.value.streams : $0.key < $1.key }
            chosen.removeLast(chosen.count - Self.maximumTopics)
        }
        chosen.sort { $0.key < $1.key }
        let topics = chosen.map { topic, count in
            let subjects =
                count.subjects.count > Self.maximumSubjects
                ? Array(count.subjects.keys.sorted().prefix(Self.maximumSubjects)) : count.subjects.keys.sorted()
            return NodeDocument.TopicPresence(
                topic: topic.name, streams: count.streams, subjects: subjects, subjectsTotal: count.subjects.count)
        }
        return NodeDocument.Presence(topicsTotal: table.count, topics: topics)
    }
}

extension Topic {
    /// The companion topic of presence events, `<name>.presence`: nil when that name would be too long, or when the
    /// topic is itself a presence topic (no presence of presence).
    var presenceTopic: Topic? {
        guard !name.hasSuffix(".presence") else { return nil }
        return try? Topic(validating: name + ".presence")
    }
}
