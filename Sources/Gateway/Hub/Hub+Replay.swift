import Logging
import NIOCore
import SSEHistory
import SSEProtocol
import Synchronization

extension Hub {
    /// Sends a reconnecting stream the history after its id, in the stream's dialect, once its topics are
    /// subscribed, then lets live events through (see ``SSEConnection/finishReplay(history:resetLastID:)``).
    ///
    /// History frames are encoded here, per stream, because a replay is one stream's; live frames come from the
    /// registry, encoded once per dialect per message.
    func replay(_ connection: SSEConnection, topics: [Topic], after id: EventID, once joined: EventLoopFuture<Void>) {
        let loop = connection.context.eventLoop
        let bound = NIOLoopBound(connection, eventLoop: loop)
        let stats = self.stats
        let logger = self.logger
        joined.flatMap { [history] in history.read(topics: topics, after: id) }
            .hop(to: loop)
            .whenComplete { result in
                let connection = bound.value
                guard connection.isOpen else { return }
                switch result {
                case .success(.events(let events)):
                    let sent = connection.finishReplay(history: Self.frames(of: events, for: connection))
                    stats.replayedEvents.add(sent, ordering: .relaxed)
                    if connection.isReplaying {
                        // A catch-up was asked for meanwhile: read on from what was just sent.
                        self.replay(
                            connection, topics: topics, after: connection.lastSentID ?? id,
                            once: loop.makeSucceededVoidFuture())
                    }
                case .success(.unknownID):
                    connection.writeControl(ResyncNotice.frame(reason: "unknown-last-event-id", topics: nil))
                    stats.resyncs.add(1, ordering: .relaxed)
                    self.replayFromOrigin(connection, topics: topics)
                case .success(.trimmed(let topic)), .success(.limitExceeded(let topic)):
                    connection.writeControl(ResyncNotice.frame(reason: "history-trimmed", topics: [topic]))
                    stats.resyncs.add(1, ordering: .relaxed)
                    connection.finishReplay(history: [], resetLastID: true)
                case .failure(let error):
                    logger.warning("replay failed, closing the stream", metadata: ["error": "\(error)"])
                    connection.close(error: true)
                }
            }
    }

    /// After `resync` for an id Redis does not know: the stream is sent what the current data holds from its
    /// origin (nothing when that is more than a replay reads), then live events, its old id forgotten.
    private func replayFromOrigin(_ connection: SSEConnection, topics: [Topic]) {
        let loop = connection.context.eventLoop
        let bound = NIOLoopBound(connection, eventLoop: loop)
        let stats = self.stats
        history.readFromOrigin(topics: topics).hop(to: loop).whenComplete { result in
            let connection = bound.value
            guard connection.isOpen else { return }
            var events: [TopicEvent] = []
            if case .success(.events(let found)) = result { events = found }
            let sent = connection.finishReplay(history: Self.frames(of: events, for: connection), resetLastID: true)
            stats.replayedEvents.add(sent, ordering: .relaxed)
        }
    }

    /// History events as one stream's frames, in its format.
    private static func frames(of events: [TopicEvent], for connection: SSEConnection) -> [(
        frame: ByteBuffer, id: EventID
    )] {
        let allocator = connection.context.channel.allocator
        let format = connection.format
        return events.map { item in
            (frame: format.frame(for: item.event, topic: item.topic, allocator: allocator), id: item.event.id!)
        }
    }

    /// A loop that shed events has worked off its backlog: each of its streams of the skipped topics is sent the
    /// history after the last event it was sent (after `after`, the last id relayed before the shedding, for a
    /// stream that had none), while new live events wait behind that replay as on a reconnect. A stream still
    /// replaying reads once more when that replay ends (``SSEConnection/requestCatchUp()``).
    func catchUp(loop index: Int, topics: Set<Topic>, after: EventID?) {
        let box = loops[index]
        let stats = self.stats
        box.eventLoop.execute { [self] in
            let loopHub = box.value
            loopHub.endTickIfScheduled()  // the events handed over before the shedding go out first
            let ready = box.eventLoop.makeSucceededVoidFuture()
            var caughtUp = 0
            for connection in loopHub.streams(of: topics) {
                guard let resumeAfter = connection.lastSentID ?? after else {
                    // Nothing to resume from: no reliable event reached the node before the shedding.
                    connection.writeControl(ResyncNotice.frame(reason: "node-overloaded", topics: Array(topics)))
                    stats.resyncs.add(1, ordering: .relaxed)
                    continue
                }
                caughtUp += 1
                if connection.requestCatchUp() {
                    replay(connection, topics: connection.topics, after: resumeAfter, once: ready)
                }
            }
            stats.caughtUpStreams.add(caughtUp, ordering: .relaxed)
        }
    }
}
