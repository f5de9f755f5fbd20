import Logging
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization

/// The node hub on a Redis Cluster: topics live on shards, each with its own clock, so the node's position is kept
/// per topic (``NodeHub/Entry/lastID``) and everything after a link or slot change is per topic too.
///
/// - A topic is confirmed once its shard has confirmed `SSUBSCRIBE` **and** its clock's last id is read: that id is
///   where a positioned stream joining now starts its entry, and where the topic's backfill reads on from when
///   nothing was relayed of it yet.
/// - When a shard's link comes back, or a slot moved and its channels are subscribed on their new primary
///   (``RedisClusterSubscriber/Event/shardReconnected(address:channels:)``, ``.resubscribed(channels:)``), those
///   topics read their history after their own last id while their live messages park; the relay's per-topic id
///   check drops what both carry. Streams joining those topics meanwhile are released when that read has run.
/// - Redis dropping channels unasked (``.unsubscribedByServer(address:channels:)``) unconfirms them until then.
/// - The control channel is a classic subscription on any node (the Cluster broadcasts classic `PUBLISH`): its link
///   decides whether the node takes streams (``redisUp``) and when revocations are loaded.
extension NodeHub {
    /// Every event of the sharded subscriber, on the hub loop.
    func handle(cluster event: RedisClusterSubscriber.Event) {
        switch event {
        case .message(let channel, let payload):
            guard let topic = Topic(channel: channel) else { return }
            stats.messagesReceived.add(1, ordering: .relaxed)
            let message = RedisEnvelope.decode(payload)
            if var parked = topicBackfills[topic] {
                topicBackfills[topic] = nil  // drop the array reference while appending (no copy)
                parked.append(message)
                topicBackfills[topic] = parked
            } else {
                relay(topic, message)
            }
        case .shardConnected(let address):
            logger.info("Redis shard link up", metadata: ["redis.address": "\(address)"])
        case .shardDisconnected(let address, let error):
            logger.warning("Redis shard link down", metadata: ["redis.address": "\(address)", "error": "\(error)"])
        case .unsubscribedByServer(let address, let channels):
            let moved = channels.compactMap(Topic.init(channel:))
            logger.info(
                "Redis dropped channels (slot moved or primary demoted): resubscribing where they live now",
                metadata: ["redis.address": "\(address)", "sse.topics": "\(moved.count)"])
            for topic in moved where topics[topic] != nil { topics[topic]!.confirmed = false }
        case .shardReconnected(_, let channels), .resubscribed(let channels):
            let back = channels.compactMap(Topic.init(channel:)).filter { topics[$0] != nil }
            guard !back.isEmpty else { return }
            stats.redisReconnects.add(1, ordering: .relaxed)
            // Confirmed, and the joins waiting for them released, only once their backfill has run: a stream that
            // joins meanwhile reads its own history after the node's read, so a `resync` that read sends (data
            // lost) cannot fall between the stream's replay and the events the node relays after it.
            for topic in back { topics[topic]!.confirmed = false }
            startBackfill(perTopic: back)
        }
    }

    /// Every event of the control channel's subscriber (a classic subscription on any node), on the hub loop.
    func handle(control event: RedisSubscriber.Event) {
        switch event {
        case .message(let channel, let payload):
            if channel == ControlMessage.channel { control(payload) }
        case .patternMessage:
            break
        case .connected, .reconnected:
            redisUp = true
            stats.redisConnected.store(true, ordering: .relaxed)
            releaseWaiters()
            loadRevocations()
        case .disconnected(let error):
            redisUp = false
            stats.auth.revocationsLoaded.store(false, ordering: .relaxed)
            stats.redisConnected.store(false, ordering: .relaxed)
            logger.warning("Redis control subscription down", metadata: ["error": "\(error)"])
        }
    }

    /// Confirms topics whose shards confirmed them once their clocks are read (retried; after three failures they
    /// are confirmed without, and their first backfill reads from their clock's origin).
    func confirmWithClocks(_ confirmed: [Topic], attempt: Int = 1) {
        history.lastIDs(of: confirmed).hop(to: hubLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let ids):
                for topic in confirmed where topics[topic] != nil {
                    if let id = ids[topic], topics[topic]!.lastID.map({ $0 < id }) ?? true {
                        topics[topic]!.lastID = id
                    }
                    topics[topic]!.confirmed = true
                }
            case .failure(let error) where attempt < 3:
                logger.warning("reading topic clocks failed, retrying", metadata: ["error": "\(error)"])
                hubLoop.assumeIsolated().scheduleTask(in: .milliseconds(100 * Int64(attempt))) {
                    self.confirmWithClocks(confirmed, attempt: attempt + 1)
                }
                return
            case .failure(let error):
                logger.error("reading topic clocks failed", metadata: ["error": "\(error)"])
                for topic in confirmed where topics[topic] != nil { topics[topic]!.confirmed = true }
            }
            releaseWaiters()
        }
    }

    // MARK: Per-topic backfill

    /// Reads each topic's history after its own last id (from its clock's origin when it has none), parking its
    /// live messages meanwhile; a topic already backfilling is left to that read.
    func startBackfill(perTopic wanted: [Topic]) {
        let fresh = wanted.filter { topicBackfills[$0] == nil }
        guard !fresh.isEmpty else { return }
        for topic in fresh { topicBackfills[topic] = [] }
        var positions: [Topic: EventID] = [:]
        var fromOrigin: [Topic] = []
        for topic in fresh {
            if let id = topics[topic]?.lastID { positions[topic] = id } else { fromOrigin.append(topic) }
        }
        if !positions.isEmpty { readBackfill(positions: positions, attempt: 1) }
        if !fromOrigin.isEmpty { readFromOrigin(perTopic: fromOrigin, attempt: 1) }
    }

    private func readBackfill(positions: [Topic: EventID], attempt: Int) {
        history.read(positions: positions, exact: true).hop(to: hubLoop).assumeIsolated().whenComplete {
            [self] result in
            switch result {
            case .success(let answers):
                var lost: [Topic] = []
                for (topic, answer) in answers {
                    switch answer {
                    case .events(let events):
                        stats.backfilledEvents.add(events.count, ordering: .relaxed)
                        for item in events { relay(item.topic, item.event, live: false) }
                        endBackfill(of: topic)
                    case .unknownID:
                        lost.append(topic)
                    case .trimmed, .limitExceeded:
                        resync(topics: [topic], reason: "history-trimmed")
                        endBackfill(of: topic)
                    }
                }
                // The topic's shard lost the data the node's position refers to (a failover to a replica that had
                // not received it, a flush).
                for topic in lost { recoverAfterLoss(of: topic, attempt: 1) }
                logger.info("backfilled topics after a shard change", metadata: ["sse.topics": "\(answers.count)"])
            case .failure(let error) where attempt < 3:
                logger.warning("backfill failed, retrying", metadata: ["error": "\(error)"])
                hubLoop.assumeIsolated().scheduleTask(in: .milliseconds(200 * Int64(attempt))) {
                    self.readBackfill(positions: positions, attempt: attempt + 1)
                }
            case .failure(let error):
                logger.error("backfill failed, telling clients to resync", metadata: ["error": "\(error)"])
                resync(topics: Set(positions.keys), reason: "backfill-failed")
                for topic in positions.keys { endBackfill(of: topic) }
            }
        }
    }

    private func readFromOrigin(perTopic wanted: [Topic], attempt: Int) {
        history.readFromOrigin(perTopic: wanted).hop(to: hubLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let answers):
                for (topic, answer) in answers {
                    if case .events(let events) = answer {
                        stats.backfilledEvents.add(events.count, ordering: .relaxed)
                        for item in events { relay(item.topic, item.event, live: false) }
                    } else if case .trimmed = answer {
                        logger.warning("more history than a backfill reads", metadata: ["sse.topic": "\(topic)"])
                    }
                }
                for topic in wanted { endBackfill(of: topic) }
            case .failure(let error) where attempt < 3:
                logger.warning("reading history from origin failed, retrying", metadata: ["error": "\(error)"])
                hubLoop.assumeIsolated().scheduleTask(in: .milliseconds(200 * Int64(attempt))) {
                    self.readFromOrigin(perTopic: wanted, attempt: attempt + 1)
                }
            case .failure(let error):
                logger.error("reading history from origin failed", metadata: ["error": "\(error)"])
                resync(topics: Set(wanted), reason: "backfill-failed")
                for topic in wanted { endBackfill(of: topic) }
            }
        }
    }

    /// After `topic`'s shard lost data: as ``recoverAfterLoss(topics:attempt:)`` on one Redis, for one topic — what
    /// the shard holds after the oldest id of the topic the node recorded, the recorded ids it lacks told with
    /// `resync` (`redis-data-lost`, the topic's streams forget their entries for it), then what the node had not
    /// relayed; when that id is gone too, the topic's streams are told and get the topic's whole history.
    private func recoverAfterLoss(of topic: Topic, attempt: Int) {
        guard let oldest = recent.oldest(of: topic) else { return recoverFromOrigin(topic) }
        history.read(positions: [topic: oldest.id], exact: true).hop(to: hubLoop).assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let answers):
                    guard case .events(let events)? = answers[topic] else { return recoverFromOrigin(topic) }
                    let seen = recent.entries.filter { $0.topic == topic }
                    let held = Set(events.map { RecentIDs.Entry(topic: topic, id: $0.event.id!) })
                    let lost = seen.filter { $0.id > oldest.id && !held.contains($0) }
                    let fresh = events.filter { !seen.contains(RecentIDs.Entry(topic: topic, id: $0.event.id!)) }
                    logger.warning(
                        "a Redis shard lost data: telling the topic's streams, then relaying what it holds now",
                        metadata: [
                            "sse.topic": "\(topic)", "sse.lost_events": "\(lost.count)",
                            "sse.new_events": "\(fresh.count)",
                        ])
                    resync(topics: [topic], reason: "redis-data-lost", forgettingIDs: true)
                    stats.backfilledEvents.add(fresh.count, ordering: .relaxed)
                    guard topics[topic] != nil else { return endBackfill(of: topic) }
                    topics[topic]!.lastID = oldest.id
                    for item in fresh { relay(item.topic, item.event, live: false) }
                    if let last = events.last?.event.id,
                        topics[topic].map({ $0.lastID.map { $0 < last } ?? true })
                            == true
                    {
                        topics[topic]!.lastID = last
                    }
                    endBackfill(of: topic)
                case .failure(let error) where attempt < 3:
                    logger.warning(
                        "reading history after a data loss failed, retrying", metadata: ["error": "\(error)"])
                    hubLoop.assumeIsolated().scheduleTask(in: .milliseconds(200 * Int64(attempt))) {
                        self.recoverAfterLoss(of: topic, attempt: attempt + 1)
                    }
                case .failure:
                    recoverFromOrigin(topic)
                }
            }
    }

    /// The topic's streams are told, forget their ids for it, and get what its shard holds from its clock's origin.
    private func recoverFromOrigin(_ topic: Topic) {
        resync(topics: [topic], reason: "redis-data-lost", forgettingIDs: true)
        if topics[topic] != nil { topics[topic]!.lastID = nil }
        readFromOrigin(perTopic: [topic], attempt: 1)
    }

    /// Relays the live messages of `topic` parked during its backfill, in arrival order.
    private func endBackfill(of topic: Topic) {
        guard let parked = topicBackfills.removeValue(forKey: topic) else { return }
        for event in parked { relay(topic, event) }
        if topics[topic] != nil {
            topics[topic]!.confirmed = true
            releaseWaiters()
        }
    }
}
