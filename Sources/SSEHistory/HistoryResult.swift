import NIOCore
import RedisClient
import SSEProtocol

/// One replayed event and the topic it was published on (a connection may follow several topics).
public struct TopicEvent: Sendable, Hashable {
    public var topic: Topic
    public var event: ServerSentEvent

    public init(topic: Topic, event: ServerSentEvent) {
        self.topic = topic
        self.event = event
    }
}

/// The answer to "what did I miss since this id?" (``History/events(after:in:limit:)``).
public enum HistoryResult: Sendable, Hashable {
    /// Every event after the id in the requested topics, merged in id order (possibly none).
    case events([TopicEvent])
    /// The id was not issued by this Redis's current data (flushed, restarted empty, or an id from elsewhere):
    /// the client must be told it lost continuity and start over.
    case unknownID
    /// Events after the id were trimmed from this topic's capped history: replay would have a gap.
    case trimmed(Topic)
    /// This topic has more events after the id than the replay limit: the client is too far behind to catch up
    /// by replay, and a partial replay would have a gap.
    case limitExceeded(Topic)
}

extension HistoryResult {
    /// Parses the `sse_history` reply for `topics` (in the order their keys were passed).
    init(reply: RedisReply, topics: [Topic]) throws {
        func unexpected() -> RedisError {
            RedisError.unexpectedReply(command: "FCALL sse_history", reply: "\(reply)")
        }
        guard let parts = reply.array, parts.count >= 2, let status = parts[0].string else { throw unexpected() }
        func topic(at detail: RedisReply) throws -> Topic {
            guard let index = detail.int, index >= 1, index <= topics.count else { throw unexpected() }
            return topics[Int(index) - 1]
        }
        switch status {
        case "unknown":
            self = .unknownID
        case "trimmed":
            self = .trimmed(try topic(at: parts[1]))
        case "limit":
            self = .limitExceeded(try topic(at: parts[1]))
        case "ok":
            guard parts.count == topics.count + 2 else { throw unexpected() }
            var merged: [TopicEvent] = []
            for (topic, entries) in zip(topics, parts.dropFirst(2)) {
                guard let entries = entries.array else { throw unexpected() }
                for entry in entries {
                    guard let event = Self.event(fromStreamEntry: entry) else { throw unexpected() }
                    merged.append(TopicEvent(topic: topic, event: event))
                }
            }
            // Ids are unique across topics (one clock), so this order is total.
            merged.sort { $0.event.id! < $1.event.id! }
            self = .events(merged)
        default:
            throw unexpected()
        }
    }

    /// A stream entry `[id, [field, value, …]]` written by `sse_publish` (fields `e` and `d`).
    ///
    /// An entry written by hand with an invalid event name is replayed without a name rather than failing the
    /// whole replay; one without `d` has empty data.
    static func event(fromStreamEntry entry: RedisReply) -> ServerSentEvent? {
        guard let pair = entry.array, pair.count == 2, let idBytes = pair[0].bytes, let id = EventID.parse(idBytes),
            let fields = pair[1].array, fields.count % 2 == 0
        else { return nil }
        var name: EventName?
        var data = ByteBuffer()
        for index in stride(from: 0, to: fields.count, by: 2) {
            guard case .bulk(let value) = fields[index + 1] else { return nil }
            switch fields[index].string {
            case "e":
                if value.readableBytes > 0 { name = try? EventName(validating: String(buffer: value)) }
            case "d":
                data = value
            default:
                break
            }
        }
        return ServerSentEvent(id: id, event: name, data: data)
    }
}
