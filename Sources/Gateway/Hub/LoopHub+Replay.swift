import Logging
import NIOCore
import SSEHistory
import SSEProtocol
import Synchronization

/// History for the streams of one loop: a reconnecting stream's replay, and the catch-up after the loop shed events.
extension LoopHub {
    /// Sends a reconnecting stream the history after where it stood, in the stream's format, once its topics are
    /// subscribed (`joined`), then lets live events through (``SSEStream/finishReplay(history:resetLastID:)``).
    ///
    /// History frames are encoded here, per stream, because a replay is one stream's; live frames come from the
    /// node hub, encoded once per format per message.
    ///
    /// A read that fails (a shard's connection lost in a failover, Redis unreachable for a moment) is tried again
    /// twice, from the same position (the stream sent nothing meanwhile), before the stream is closed for its
    /// client to come back.
    func replay(
        _ stream: SSEStream, from resume: StreamResume, once joined: EventLoopFuture<Void>, attempt: Int = 1
    ) {
        switch resume {
        case .after(let id): replay(stream, after: id, once: joined, attempt: attempt)
        case .positions(let ids, let exact):
            replay(stream, positions: ids, exact: exact, once: joined, attempt: attempt)
        }
    }

    /// A replay's read failed: read again after a pause (the stream keeps parking live frames, bounded by its
    /// unsent limit), or, after the third attempt, close the stream.
    private func replayFailed(
        _ stream: SSEStream, _ error: any Error, resume: StreamResume, attempt: Int
    ) {
        guard attempt < Self.replayAttempts else {
            logger.warning(
                "replay failed, closing the stream", metadata: ["error": "\(error)", "sse.attempts": "\(attempt)"])
            stream.close(error: true)
            return
        }
        logger.info("replay read failed, reading again", metadata: ["error": "\(error)", "sse.attempt": "\(attempt)"])
        stats.replayRetries.add(1, ordering: .relaxed)
        let bound = NIOLoopBound(stream, eventLoop: eventLoop)
        eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(200 * Int64(attempt))) { [self] in
            let stream = bound.value
            guard stream.isOpen, stream.isReplaying else { return }
            replay(stream, from: resume, once: eventLoop.makeSucceededVoidFuture(), attempt: attempt + 1)
        }
    }

    /// Reads a replay tries before its stream is closed.
    static let replayAttempts = 3

    private func replay(_ stream: SSEStream, after id: EventID, once joined: EventLoopFuture<Void>, attempt: Int) {
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
                    hub.replayAgainIfAsked(stream, fallback: id)
                case .success(.unknownID):
                    stream.writeControl(ResyncNotice.frame(reason: "unknown-last-event-id", topics: nil))
                    hub.stats.resyncs.add(1, ordering: .relaxed)
                    hub.replayFromOrigin(stream)
                case .success(.trimmed(let topic)), .success(.limitExceeded(let topic)):
                    stream.writeControl(ResyncNotice.frame(reason: "history-trimmed", topics: [topic]))
                    hub.stats.resyncs.add(1, ordering: .relaxed)
                    stream.finishReplay(history: [], resetLastID: true)
                case .failure(let error):
                    hub.replayFailed(stream, error, resume: .after(id), attempt: attempt)
                }
            }
    }

    /// A positioned stream's replay: each topic's history after its own entry, read on its own shard. A topic
    /// whose id its shard does not know (the shard lost data) or whose history was trimmed past it gets a `resync`
    /// naming it and forgets its entry; the other topics resume exactly.
    private func replay(
        _ stream: SSEStream, positions ids: [Topic: EventID], exact: Bool, once joined: EventLoopFuture<Void>,
        attempt: Int
    ) {
        let hub = NIOLoopBound(self, eventLoop: eventLoop)
        let bound = NIOLoopBound(stream, eventLoop: eventLoop)
        // Entries of topics the stream had seen nothing of are read from their clock's origin.
        let fromOrigin = ids.filter { $0.value == .nothing }.map(\.key)
        let after = ids.filter { $0.value != .nothing }
        joined.flatMap { [history] in
            history.read(positions: after, exact: exact).and(history.readFromOrigin(perTopic: fromOrigin))
                .map { $0.merging($1) { first, _ in first } }
        }
        .hop(to: eventLoop)
        .whenComplete { result in
            let (hub, stream) = (hub.value, bound.value)
            guard stream.isOpen else { return }
            let results: [Topic: HistoryResult]
            switch result {
            case .success(let answers): results = answers
            case .failure(let error):
                return hub.replayFailed(stream, error, resume: .positions(ids, exact: exact), attempt: attempt)
            }
            var events: [TopicEvent] = []
            var unknown: Set<Topic> = []
            var trimmed: Set<Topic> = []
            for (topic, answer) in results {
                switch answer {
                case .events(let found): events += found
                case .unknownID: unknown.insert(topic)
                case .trimmed, .limitExceeded: trimmed.insert(topic)
                }
            }
            for (reason, topics) in [("unknown-last-event-id", unknown), ("history-trimmed", trimmed)]
            where !topics.isEmpty {
                stream.writeControl(
                    ResyncNotice.frame(reason: reason, topics: topics.sorted { $0.name < $1.name }))
                hub.stats.resyncs.add(1, ordering: .relaxed)
                stream.forgetLastID(topics: topics)
            }
            events.sort { $0.event.id! < $1.event.id! }
            let sent = stream.finishReplay(history: Self.frames(of: events, for: stream))
            hub.stats.replayedEvents.add(sent, ordering: .relaxed)
            hub.replayAgainIfAsked(stream, fallback: nil)
        }
    }

    /// A catch-up was asked for while the stream replayed: read on from what it was just sent.
    private func replayAgainIfAsked(_ stream: SSEStream, fallback: EventID?) {
        guard stream.isReplaying else { return }
        guard let resume = stream.currentResume ?? fallback.map(StreamResume.after) else {
            stream.finishReplay(history: [])
            return
        }
        replay(stream, from: resume, once: eventLoop.makeSucceededVoidFuture())
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
    private static func frames(of events: [TopicEvent], for stream: SSEStream) -> [SSEStream.Replayed] {
        let allocator = stream.allocator
        let format = stream.format
        return events.map { item in
            (
                frame: format.frame(for: item.event, topic: item.topic, allocator: allocator), id: item.event.id!,
                topic: item.topic
            )
        }
    }

    /// The loop shed events and has worked off its backlog (``Shedding``): each of its streams of the skipped
    /// topics is sent the history after the last event it was sent (for a stream that had none, after the last id
    /// relayed of its topic before the shedding — `after`, or `afterByTopic` when ids are per topic), while new live
    /// events wait behind that replay as on a reconnect. A stream still replaying reads once more when that replay
    /// ends (``SSEStream/requestCatchUp()``).
    func catchUp(topics: Set<Topic>, after: EventID?, afterByTopic: [Topic: EventID] = [:]) {
        endTickIfScheduled()  // the events handed over before the shedding go out first
        let ready = eventLoop.makeSucceededVoidFuture()
        var caughtUp = 0
        for stream in streams(of: topics) {
            var resume = stream.currentResume
            if stream.format.positioned {
                var ids: [Topic: EventID] = [:]
                if case .positions(let own, _) = resume { ids = own }
                for topic in stream.topics where ids[topic] == nil { ids[topic] = afterByTopic[topic] ?? after }
                resume = ids.isEmpty ? nil : .positions(ids)
            } else if resume == nil, let id = after ?? afterByTopic[stream.topics[0]] {
                resume = .after(id)
            }
            guard let resume else {
                // Nothing to resume from: no reliable event reached the node before the shedding.
                stream.writeControl(ResyncNotice.frame(reason: "node-overloaded", topics: Array(topics)))
                stats.resyncs.add(1, ordering: .relaxed)
                continue
            }
            caughtUp += 1
            if stream.requestCatchUp() { replay(stream, from: resume, once: ready) }
        }
        stats.caughtUpStreams.add(caughtUp, ordering: .relaxed)
    }
}
