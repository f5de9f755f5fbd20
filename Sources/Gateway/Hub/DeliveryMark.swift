import SSEProtocol

/// Where a stream stands in what it was handed: the one rule for whether an event is new to it, used by every
/// path (live frames one by one, a tick's batch whole, a replay's history, frames parked during a replay).
///
/// An event is new when it is both
/// - handed after the stream's position in its loop's live flow (`sequence`, numbered by the ``LoopHub``): so a
///   stream that opened during a tick gets only what arrived after it, and a frame parked in a replay is not
///   handed twice; history events have no number and skip this half;
/// - if reliable, above the highest id sent (`lastSentID`): so the seams where history meets live events (a
///   replay's end, a node's backfill) never send an event twice, and ids on a stream strictly increase.
struct DeliveryMark {
    /// The loop's number of the last live event handed to the stream (written, parked or skipped).
    var handedThrough: UInt64
    /// The highest reliable id sent on the stream (the client's `Last-Event-ID` before the first).
    var lastSentID: EventID?

    func isNew(sequence: UInt64) -> Bool { sequence > handedThrough }

    func isNew(id: EventID?) -> Bool {
        guard let id, let last = lastSentID else { return true }
        return id > last
    }

    /// The rule for a whole batch of one topic: numbers and ids increase within it, so the batch is new when its
    /// first event is.
    func isNew(_ batch: TickBatch) -> Bool {
        isNew(sequence: batch.firstSequence) && isNew(id: batch.firstID)
    }
}
