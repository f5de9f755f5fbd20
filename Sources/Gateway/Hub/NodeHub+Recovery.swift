import Foundation
import Logging
import NIOCore
import SSEAuth
import SSEHistory
import SSEProtocol
import Synchronization

/// After a Redis reconnect: the history the node missed, the notices when it cannot be read, and the control channel.
extension NodeHub {
    // MARK: Backfill after a Redis reconnect

    /// Reads every topic's history after the last relayed id; live messages park meanwhile (``Backfill``) and are
    /// relayed after it, the relay's id check dropping what the read already carried.
    ///
    /// The read checks that Redis still holds the last relayed id in its topic's history: if not, Redis lost data
    /// (a failover to a replica that had not received it), and the node recovers (``recoverAfterLoss(topics:)``).
    func startBackfill() {
        guard !topics.isEmpty else { return }
        if case .running = backfill { return }
        guard let after = lastRelayedID else {
            // Nothing relayed yet: what the node subscribed after is what the clock said then.
            guard nothingBefore else { return }
            backfill = .running(parked: [])
            readFromOrigin(topics: Array(topics.keys), attempt: 1)
            return
        }
        backfill = .running(parked: [])
        var wanted = Array(topics.keys)
        // The holder is read too (its events are dropped if no stream follows it any more).
        if let holder = lastRelayedTopic, topics[holder] == nil { wanted.append(holder) }
        readBackfill(after: after, topics: wanted, holder: lastRelayedTopic, attempt: 1)
    }

    private func readBackfill(after: EventID, topics wanted: [Topic], holder: Topic?, attempt: Int) {
        history.read(topics: wanted, after: after, issuedIn: holder).hop(to: hubLoop).assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(.events(let events)):
                    stats.backfilledEvents.add(events.count, ordering: .relaxed)
                    logger.info("backfilled after Redis reconnect", metadata: ["sse.events": "\(events.count)"])
                    for item in events { relay(item.topic, item.event, live: false) }
                case .success(.unknownID):
                    // Redis lost the data the node's position refers to.
                    recoverAfterLoss(topics: wanted, attempt: 1)
                    return
                case .success(.trimmed(let topic)), .success(.limitExceeded(let topic)):
                    resync(topics: [topic], reason: "history-trimmed")
                case .failure(let error) where attempt < 3:
                    logger.warning("backfill failed, retrying", metadata: ["error": "\(error)"])
                    hubLoop.assumeIsolated().scheduleTask(in: .milliseconds(200 * Int64(attempt))) {
                        self.readBackfill(after: after, topics: wanted, holder: holder, attempt: attempt + 1)
                    }
                    return
                case .failure(let error):
                    logger.error("backfill failed, telling clients to resync", metadata: ["error": "\(error)"])
                    resync(topics: nil, reason: "backfill-failed")
                }
                endBackfill()
            }
    }

    /// Where the node stands before it relayed anything: the clock's last id when it subscribed `topics` (confirmed
    /// on the live connection), so that a reconnect before the first event still reads what it missed — a link
    /// replaced by its probe during a stall misses what Redis publishes when it wakes. No clock: nothing was
    /// published yet, and after a reconnect everything the data holds is new (``nothingBefore``).
    func notePositionFromClock(_ topics: [Topic]) {
        history.lastIDs(of: topics).hop(to: hubLoop).assumeIsolated().whenSuccess { [self] ids in
            guard lastRelayedID == nil else { return }
            if let id = ids.values.max() {
                lastRelayedID = id
                nothingBefore = false
            } else {
                nothingBefore = true
            }
        }
    }

    /// After Redis lost data: reads what it holds after the oldest id the node recorded (``RecentIDs``), which must
    /// still be there. The recorded ids missing from it were lost: the streams of their topics are told with `resync`
    /// (`redis-data-lost`) and forget their ids; then every event Redis holds that the node had not relayed (those
    /// published since the failover, whose ids may be lower than the lost ones) is relayed, then the parked live
    /// messages. When the oldest recorded id is gone too (a loss larger than the record, or an emptied Redis), every
    /// stream is told and gets what the new data holds from its origin.
    func recoverAfterLoss(topics wanted: [Topic], attempt: Int) {
        guard let oldest = recent.oldest() else { return recoverFromOrigin(topics: wanted) }
        var read = wanted
        if !read.contains(oldest.topic) { read.append(oldest.topic) }
        history.read(topics: read, after: oldest.id, issuedIn: oldest.topic).hop(to: hubLoop).assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(.events(let events)):
                    let seen = recent.entries
                    let held = Set(events.map { RecentIDs.Entry(topic: $0.topic, id: $0.event.id!) })
                    let lost = seen.filter { $0.id > oldest.id && !held.contains($0) }
                    let fresh = events.filter { !seen.contains(RecentIDs.Entry(topic: $0.topic, id: $0.event.id!)) }
                    logger.warning(
                        "Redis lost data: telling the streams of its topics, then relaying what it holds now",
                        metadata: [
                            "sse.lost_events": "\(lost.count)", "sse.new_events": "\(fresh.count)",
                            "sse.topics": "\(Set(lost.map(\.topic)).map(\.name).sorted())",
                        ])
                    resync(
                        topics: lost.isEmpty ? nil : Set(lost.map(\.topic)), reason: "redis-data-lost",
                        forgettingIDs: true)
                    stats.backfilledEvents.add(fresh.count, ordering: .relaxed)
                    lastRelayedID = oldest.id
                    for item in fresh { relay(item.topic, item.event, live: false) }
                    if let last = events.last?.event.id, lastRelayedID.map({ $0 < last }) ?? true {
                        lastRelayedID = last
                        lastRelayedTopic = events.last?.topic
                    }
                    endBackfill()
                case .failure(let error) where attempt < 3:
                    logger.warning(
                        "reading history after a data loss failed, retrying", metadata: ["error": "\(error)"])
                    hubLoop.assumeIsolated().scheduleTask(in: .milliseconds(200 * Int64(attempt))) {
                        self.recoverAfterLoss(topics: wanted, attempt: attempt + 1)
                    }
                case .success, .failure:
                    recoverFromOrigin(topics: wanted)
                }
            }
    }

    /// Every stream is told, forgets its ids, and then gets what the new data holds (events published before this
    /// node resubscribed included).
    private func recoverFromOrigin(topics wanted: [Topic]) {
        resync(topics: nil, reason: "redis-data-lost", forgettingIDs: true)
        lastRelayedID = nil
        readFromOrigin(topics: wanted, attempt: 1)
    }

    /// After a data loss: relays what the new data holds from its clock's origin, then the live messages parked
    /// meanwhile.
    private func readFromOrigin(topics wanted: [Topic], attempt: Int) {
        history.readFromOrigin(topics: wanted).hop(to: hubLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(.events(let events)):
                stats.backfilledEvents.add(events.count, ordering: .relaxed)
                logger.info(
                    "delivered what Redis holds after it lost its data", metadata: ["sse.events": "\(events.count)"])
                for item in events { relay(item.topic, item.event, live: false) }
            case .success(.unknownID):
                break  // nothing to deliver
            case .success(.trimmed(let topic)), .success(.limitExceeded(let topic)):
                logger.warning(
                    "more history than a replay reads after a data loss", metadata: ["sse.topic": "\(topic)"])
            case .failure(let error) where attempt < 3:
                logger.warning("reading history after a data loss failed, retrying", metadata: ["error": "\(error)"])
                hubLoop.assumeIsolated().scheduleTask(in: .milliseconds(200 * Int64(attempt))) {
                    self.readFromOrigin(topics: wanted, attempt: attempt + 1)
                }
                return
            case .failure(let error):
                logger.error("reading history after a data loss failed", metadata: ["error": "\(error)"])
            }
            endBackfill()
        }
    }

    /// Relays the live messages parked during the backfill, in arrival order.
    func endBackfill() {
        guard case .running(let parked) = backfill else { return }
        backfill = .idle
        for (topic, event) in parked { relay(topic, event) }
    }

    /// Sends an in-band `resync` event to the streams of `topics` (all when nil) on every loop; with
    /// `forgettingIDs` the streams also forget their last ids (they came from data Redis no longer has).
    func resync(topics affected: Set<Topic>?, reason: String, forgettingIDs: Bool = false) {
        handOver()  // the events relayed before the notice go first
        let frame = ResyncNotice.frame(reason: reason, topics: affected.map { Array($0) })
        let stats = self.stats
        for box in loops {
            box.eventLoop.execute {
                let count = box.value.broadcast(frame, topics: affected, forgettingIDs: forgettingIDs)
                stats.resyncs.add(count, ordering: .relaxed)
            }
        }
    }

    // MARK: Control messages

    /// Carries out a message of the control channel on every loop that holds streams it concerns, after the events
    /// already handed to those loops.
    func control(_ payload: ByteBuffer) {
        let message: ControlMessage
        do {
            message = try ControlMessage(parsing: payload)
        } catch {
            logger.warning("ignored a control message", metadata: ["error": "\(error)"])
            return
        }
        switch message {
        case .end(let topic, let reason):
            guard let entry = topics[topic] else { return }
            logger.info("ending streams", metadata: ["sse.topic": "\(topic)", "sse.reason": "\(reason)"])
            handOver()
            for (index, count) in entry.streamsPerLoop.enumerated() where count > 0 {
                let box = loops[index]
                box.eventLoop.execute { box.value.end(topic: topic, reason: reason) }
            }
        case .revoke(let revocation):
            stats.auth.revocations.add(1, ordering: .relaxed)
            apply(revocation)
        }
    }

    /// Records a revocation and ends, on every loop, the streams it covers (after the events handed over before).
    private func apply(_ revocation: ControlMessage.Revocation) {
        let entry = revocations.add(revocation, now: Date())
        logger.info("revocation", metadata: ["sse.revoked": "\(entry.target)", "sse.reason": "\(entry.reason)"])
        handOver()
        for box in loops { box.eventLoop.execute { box.value.revoke(entry) } }
    }

    /// Loads the revocations kept in Redis (``HistoryLibrary``'s `sse_revoke`) when the subscription comes up: a
    /// node started, or back after a lost connection, learns those it did not hear on the control channel.
    func loadRevocations(attempt: Int = 1) {
        history.revocations().hop(to: hubLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let payloads):
                defer { if redisUp { stats.auth.revocationsLoaded.store(true, ordering: .relaxed) } }
                var loaded = 0
                let now = Date()
                for payload in payloads {
                    guard case .revoke(let revocation)? = try? ControlMessage(parsing: ByteBuffer(string: payload))
                    else { continue }
                    revocations.add(revocation, now: now)
                    loaded += 1
                }
                guard loaded > 0 else { return }
                logger.info("loaded revocations from Redis", metadata: ["sse.count": "\(loaded)"])
                handOver()
                let revocations = self.revocations
                for box in loops { box.eventLoop.execute { box.value.revokeCovered(by: revocations) } }
            case .failure(let error):
                // Not ready until it is read: retried while the subscription stays up.
                logger.warning("could not load the revocations kept in Redis", metadata: ["error": "\(error)"])
                hubLoop.assumeIsolated().scheduleTask(in: .milliseconds(200 * Int64(min(attempt, 10)))) {
                    if self.redisUp { self.loadRevocations(attempt: attempt + 1) }
                }
            }
        }
    }
}
