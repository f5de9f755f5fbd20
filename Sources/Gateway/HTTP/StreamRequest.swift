import HTTPTypes
import NIOHTTP1
import SSEProtocol
import ServerSupport

/// A validated `GET /sse` request: its topics, where to resume and the dialect to speak.
struct StreamRequest {
    var topics: [Topic]
    var lastEventID: EventID?
    /// `dialect=` (the first one when repeated); ``Dialect/engine`` when absent.
    var dialect = Dialect.engine
    /// `heartbeat=event`: heartbeats as `event: heartbeat` instead of comments, for clients that watch for silence
    /// (`EventSource` never reports comments to the page). `heartbeat=comment` is the default.
    var heartbeatAsEvent = false
    /// `tag=topic`: each topic event's first data line is its topic (one stream shared by several consumers).
    var tagged = false
    /// The format the hub encodes this stream's events in.
    var format: StreamFormat { StreamFormat(dialect: dialect, tagged: tagged) }

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
            do {
                lastEventID = try EventID(parsing: raw)
            } catch {
                throw HTTPFailure(.badRequest, "\(error)")
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
