import Logging
import NIOCore
import SSEHistory
import SSEProtocol
import Synchronization

/// History for the streams of one loop: a reconnecting stream's replay, and the catch-up after the loop shed events.
extension LoopHub {
    /// Sends a reconnecting stream the history after its id, in the stream's format, once its topics are subscribed
    /// (`joined`), then lets live events through (``SSEStream/finishReplay(history:resetLastID:)``).
    ///
    /// History frames are encoded here, per stream, because a replay is one stream's; live frames come from the
    /// node hub, encoded once per format per message.
    func replay(_ stream: SSEStream, after id: EventID, once joined: EventLoopFuture<Void>) {
        let hub = NIOLoopBound(self, eventLoop: eventLoop)
        let bound = NIOLoopBound(stream, eventLoop: eventLoop)
        let topics = stream.topics
        joined.flatMap { [history] in history.read(topics: topics, after: id) }
            .hop(to: eventLoop)
            .whenComplete { result in
                let (hub, stream) = (hub.value, bound.value)
                guard stream.isOpen else { return }
                switch result {
                case .success(.events(let events)):
                    let sent = stream.finishReplay(history: Self.frames(of: events, for: stream))
                    hub.stats.replayedEvents.add(sent, ordering: .relaxed)
                    if stream.isReplaying {
                        // A catch-up was asked for meanwhile: read on from what was just sent.
                        hub.replay(
                            stream, after: stream.lastSentID ?? id, once: hub.eventLoop.makeSucceededVoidFuture())
                    }
                case .success(.unknownID):
                    stream.writeControl(ResyncNotice.frame(reason: "unknown-last-event-id", topics: nil))
                    hub.stats.resyncs.add(1, ordering: .relaxed)
                    hub.replayFromOrigin(stream)
                case .success(.trimmed(let topic)), .success(.limitExceeded(let topic)):
                    stream.writeControl(ResyncNotice.frame(reason: "history-trimmed", topics: [topic]))
                    hub.stats.resyncs.add(1, ordering: .relaxed)
                    stream.finishReplay(history: [], resetLastID: true)
                case .failure(let error):
                    hub.logger.warning("replay failed, closing the stream", metadata: ["error": "\(error)"])
                    stream.close(error: true)
                }
            }
    }

    /// After `resync` for an id Redis does not know: the stream is sent what the current data holds from its
    /// origin (nothing when that is more than a replay reads), then live events, its old id forgotten.
    private func replayFromOrigin(_ stream: SSEStream) {
        let stats = self.stats
        let bound = NIOLoopBound(stream, eventLoop: eventLoop)
        history.readFromOrigin(topics: stream.topics).hop(to: eventLoop).whenComplete { result in
            let stream = bound.value
            guard stream.isOpen else { return }
            var events: [TopicEvent] = []
            if case .success(.events(let found)) = result { events = found }
            let sent = stream.finishReplay(history: Self.frames(of: events, for: stream), resetLastID: true)
            stats.replayedEvents.add(sent, ordering: .relaxed)
        }
    }

    /// History events as one stream's frames, in its format.
    private static func frames(of events: [TopicEvent], for stream: SSEStream) -> [(frame: ByteBuffer, id: EventID)] {
        let allocator = stream.allocator
        let format = stream.format
        return events.map { item in
            (frame: format.frame(for: item.event, topic: item.topic, allocator: allocator), id: item.event.id!)
        }
    }

    /// The loop shed events and has worked off its backlog (``Shedding``): each of its streams of the skipped
    /// topics is sent the history after the last event it was sent (after `after`, the last id relayed before the
    /// shedding, for a stream that had none), while new live events wait behind that replay as on a reconnect. A
    /// stream still replaying reads once more when that replay ends (``SSEStream/requestCatchUp()``).
    func catchUp(topics: Set<Topic>, after: EventID?) {
        endTickIfScheduled()  // the events handed over before the shedding go out first
        let ready = eventLoop.makeSucceededVoidFuture()
        var caughtUp = 0
        for stream in streams(of: topics) {
            guard let resumeAfter = stream.lastSentID ?? after else {
                // Nothing to resume from: no reliable event reached the node before the shedding.
                stream.writeControl(ResyncNotice.frame(reason: "node-overloaded", topics: Array(topics)))
                stats.resyncs.add(1, ordering: .relaxed)
                continue
            }
            caughtUp += 1
            if stream.requestCatchUp() { replay(stream, after: resumeAfter, once: ready) }
        }
        stats.caughtUpStreams.add(caughtUp, ordering: .relaxed)
    }
}
