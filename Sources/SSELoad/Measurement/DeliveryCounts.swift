/// What the streams of one event loop (or, merged, of a whole run) received.
///
/// Gaps and duplicates are judged per stream on the payload's sequence number: events must arrive as 1, 2, 3, …
/// (every stream is open before the publisher starts). A jump forward counts the skipped numbers as gaps; a
/// number at or below the last one seen counts as a duplicate (or a late, out-of-order event) and is not timed.
/// Events lost after a stream's last received one are not gaps: ``SubscribeResult/missing`` finds them from the
/// publisher's count.
struct DeliveryCounts: Sendable {
    /// Events with data (every dispatched event, benchmark payload or not).
    var events: UInt64 = 0
    var gaps: UInt64 = 0
    var duplicates: UInt64 = 0
    /// Events whose data is not a benchmark payload (no `seq=… t=…`).
    var unparsed: UInt64 = 0
    /// Comment lines (`: heartbeat`, nchan's pings, opening comments).
    var comments: UInt64 = 0
    /// Response body bytes, after HTTP framing.
    var bytes: UInt64 = 0
    /// Streams the server closed (or that failed) after they had opened.
    var dropped: UInt64 = 0
    /// Wall-clock nanoseconds of the first and last timed event, for the delivery rate.
    var firstEventNanoseconds: UInt64 = .max
    var lastEventNanoseconds: UInt64 = 0
    var latency = LatencyHistogram()

    /// Counts one received event on a stream whose highest sequence so far is `last` (0 before the first).
    @inline(__always)
    mutating func record(_ fields: Payload.Fields?, receivedAt now: UInt64, last: inout UInt64) {
        events &+= 1
        guard let fields else {
            unparsed &+= 1
            return
        }
        let sequence = fields.sequence
        if sequence <= last {
            duplicates &+= 1
            return
        }
        gaps &+= sequence - last - 1
        last = sequence
        latency.record(microseconds: now > fields.timestamp ? (now - fields.timestamp) / 1000 : 0)
        if now < firstEventNanoseconds { firstEventNanoseconds = now }
        if now > lastEventNanoseconds { lastEventNanoseconds = now }
    }

    mutating func merge(_ other: DeliveryCounts) {
        events += other.events
        gaps += other.gaps
        duplicates += other.duplicates
        unparsed += other.unparsed
        comments += other.comments
        bytes += other.bytes
        dropped += other.dropped
        firstEventNanoseconds = min(firstEventNanoseconds, other.firstEventNanoseconds)
        lastEventNanoseconds = max(lastEventNanoseconds, other.lastEventNanoseconds)
        latency.merge(other.latency)
    }
}
