import HTTPTypes
import NIOHTTP1
import SSEProtocol
import ServerSupport

/// Where a reconnecting stream resumes.
enum StreamResume: Sendable, Equatable {
    /// After one id in every topic of the stream (one Redis, or one topic).
    case after(EventID)
    /// After each topic's own id (a stream of several topics on a Redis Cluster); topics absent start live.
    /// `exact`: each id was issued in its topic (an entry of a stream position), so a shard that no longer holds it
    /// lost data; a plain id applied to every topic is not.
    case positions([Topic: EventID], exact: Bool = true)
}

/// A validated `GET /sse` request: its topics, where to resume and the dialect to speak.
struct StreamRequest {
    var topics: [Topic]
    /// The client's `Last-Event-ID` (or `lastEventId=`) when it is a plain id.
    var lastEventID: EventID?
    /// The client's `Last-Event-ID` when it is a stream position (a stream of several topics on a Redis Cluster).
    var lastPosition: SSEProtocol.StreamPosition?
    /// `dialect=` (the first one when repeated); ``Dialect/engine`` when absent.
    var dialect = Dialect.engine
    /// `heartbeat=event`: heartbeats as `event: heartbeat` instead of comments, for clients that watch for silence
    /// (`EventSource` never reports comments to the page). `heartbeat=comment` is the default.
    var heartbeatAsEvent = false
    /// `tag=topic`: each topic event's first data line is its topic (one stream shared by several consumers).
    var tagged = false
    /// The format the hub encodes this stream's events in; positioned when ids are per topic (a Redis Cluster)
    /// and the stream has several topics.
    func format(idsPerTopic: Bool) -> StreamFormat {
        StreamFormat(dialect: dialect, tagged: tagged, positioned: idsPerTopic && topics.count > 1)
    }

    /// Where the stream resumes, given how the node's Redis numbers events.
    ///
    /// One Redis (or a Sentinel group): one id marks a point in every topic, so a position is refused (it comes from a
    /// Cluster deployment). A Cluster: a single-topic stream resumes after its id (or its topic's entry of a
    /// position); a stream of several topics after each topic's entry of its position, and after a plain id (a
    /// page's rendered id) in each topic — which is only as exact as the clocks of the topics' shards agree.
    func resume(idsPerTopic: Bool) throws(HTTPFailure) -> StreamResume? {
        if let lastPosition {
            guard idsPerTopic else {
                throw HTTPFailure(
                    .badRequest,
                    "Last-Event-ID \"\(lastPosition.description.prefix(40))\" is a Redis Cluster stream position, "
                        + "but this gateway runs on one Redis: reconnect without it")
            }
            var ids: [Topic: EventID] = [:]
            for topic in topics { ids[topic] = lastPosition.id(of: topic) }
            if topics.count == 1 { return ids[topics[0]].map { .after($0) } }
            return ids.isEmpty ? nil : .positions(ids)
        }
        guard let lastEventID else { return nil }
        if idsPerTopic, topics.count > 1 {
            return .positions(Dictionary(uniqueKeysWithValues: topics.map { ($0, lastEventID) }), exact: false)
        }
        return .after(lastEventID)
    }

    /// Parses and validates; the error is the one-line 400 body.
    init(head: HTTPRequestHead, query: QueryString, maxTopics: Int) throws(HTTPFailure) {
        let names = query.values("topic")
        guard !names.isEmpty else {
            throw HTTPFailure(.badRequest, "missing topic: use /sse?topic=NAME (repeat topic= for several)")
        }
        var topics: [Topic] = []
        var seen = Set<Topic>()
        for name in names {
            do {
                let topic = try Topic(validating: name)
                if seen.insert(topic).inserted { topics.append(topic) }
            } catch {
                throw HTTPFailure(.badRequest, "\(error)")
            }
        }
        guard topics.count <= maxTopics else {
            throw HTTPFailure(.badRequest, "too many topics: \(topics.count) given, at most \(maxTopics) per stream")
        }
        self.topics = topics
        // The header (sent by EventSource on reconnect) wins over the query parameter (for a first connect).
        let header = head.headers.first(name: "Last-Event-ID")
        if let raw = header ?? query.first("lastEventId"), !raw.isEmpty {
            if raw.hasPrefix("p1") {
                guard let position = SSEProtocol.StreamPosition(parsing: raw) else {
                    throw HTTPFailure(
                        .badRequest,
                        "Last-Event-ID \"\(raw.prefix(40))\" is not a stream position (p1.BASE.KEY~DELTA-SEQ…, "
                            + "as this gateway wrote it): send back the last id the stream carried, unchanged")
                }
                lastPosition = position
            } else {
                do {
                    lastEventID = try EventID(parsing: raw)
                } catch {
                    throw HTTPFailure(.badRequest, "\(error)")
                }
            }
        }
        switch query.first("heartbeat") {
        case nil, "comment": heartbeatAsEvent = false
        case "event": heartbeatAsEvent = true
        case let other?:
            throw HTTPFailure(.badRequest, "heartbeat \"\(other.prefix(40))\" is unknown: use comment or event")
        }
        switch query.first("tag") {
        case nil, "none": tagged = false
        case "topic": tagged = true
        case let other?:
            throw HTTPFailure(.badRequest, "tag \"\(other.prefix(40))\" is unknown: use topic or none")
        }
        if let name = query.first("dialect") {
            do {
                dialect = try Dialect(parameter: name)
            } catch {
                throw HTTPFailure(.badRequest, "\(error)")
            }
        }
    }
}
