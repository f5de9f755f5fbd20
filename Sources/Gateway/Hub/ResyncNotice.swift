import NIOCore
import SSEProtocol

/// The in-band `resync` event: the stream cannot be resumed exactly (the client's id is older than the retained
/// history, or Redis lost its data), so the client should reload its state. Live events follow it.
///
/// ```
/// event: resync
/// data: {"reason":"history-trimmed","topics":["board"]}
/// ```
/// Reasons: `history-trimmed` (events after the id were trimmed away), `unknown-last-event-id` (Redis does not
/// know the id: it lost its data, or the id comes from another Redis), `redis-data-lost` (the node's own Redis
/// link came back to an emptied Redis), `backfill-failed` (history could not be read after a reconnect),
/// `node-overloaded` (the stream's event loop fell behind and skipped events before the node had relayed any
/// reliable id to resume from).
enum ResyncNotice {
    static func frame(reason: String, topics: [Topic]?) -> ByteBuffer {
        var json = "{\"reason\":\"\(reason)\""
        if let topics {
            json += ",\"topics\":[" + topics.sorted().map { "\"\($0.name)\"" }.joined(separator: ",") + "]"
        }
        json += "}"
        var frame = ByteBuffer()
        SSEEncoder.event(ServerSentEvent(event: try! EventName(validating: "resync"), data: json), into: &frame)
        return frame
    }
}

/// The in-band `end` event: the stream was finished on purpose (``SSEStream/end(reason:topics:)``) and the
/// client should not come back for these topics. The body's last chunk follows it.
///
/// ```
/// event: end
/// data: {"reason":"job finished","topics":["jobs.42"]}
/// ```
enum StreamEnd {
    static func frame(reason: String, topics: [Topic]) -> ByteBuffer {
        var json = "{\"reason\":" + JSONValue.string(reason).compactText + ",\"topics\":["
        json += topics.sorted().map { "\"\($0.name)\"" }.joined(separator: ",") + "]}"
        var frame = ByteBuffer()
        SSEEncoder.event(ServerSentEvent(event: try! EventName(validating: "end"), data: json), into: &frame)
        return frame
    }
}
