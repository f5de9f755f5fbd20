import Logging
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization

/// Node-level topic state, confined to the hub loop (the Redis subscriber's loop).
///
/// It subscribes a topic when its first local stream arrives and unsubscribes when the last leaves, knows which
/// loops hold streams of each topic and which dialects they speak (so a message is encoded once per dialect in use,
/// and parsed as a patch only when a non-engine dialect is), and after a Redis reconnect backfills every topic from
/// history after the last reliable id the node relayed (the subscriber connection delivers all topics in one
/// id-ordered stream, so one id marks the node's position on every topic).
///
/// Its hot stored properties are `@exclusivity(unchecked)`: they are only touched on its event loop, one access at
/// a time, so the dynamic exclusivity checks guard nothing and cost a few percent of the loop on the hot path.
final class TopicRegistry {
    private struct Entry {
        var streamsPerLoop: [Int]
        var streams: Int
        /// Streams of the topic on this node per format; a format leaves ``formats`` when its count reaches 0.
        var streamsPerFormat: [StreamFormat: Int] = [:]
        /// The formats with at least one stream of the topic on this node.
        var formats: FormatSet = []
        /// Redis has confirmed the subscription on the current connection.
        var confirmed = false
    }

    private struct Waiter {
        var topics: Set<Topic>
        let promise: EventLoopPromise<Void>
        /// The stream's loop, where the promise completes.
        let loop: Int
    }

    private enum Backfill {
        case idle
        /// Live messages parked until the history after `lastRelayedID` has been relayed.
        case running(parked: [(Topic, ServerSentEvent)])
    }

    var subscriber: RedisSubscriber?
    /// Which loops are too far behind to be handed events.
    let shedding: LoopShedding
    private let loops: [NIOLoopBoundBox<LoopHub>]
    private let hubLoop: any EventLoop
    private let stats: GatewayStats
    private let history: HistoryReader
    private let logger: Logger
    @exclusivity(unchecked) private var topics: [Topic: Entry] = [:]
    private var waiters: [Waiter] = []
    @exclusivity(unchecked) private var redisUp = false
    @exclusivity(unchecked) private var lastRelayedID: EventID?
    @exclusivity(unchecked) private var backfill = Backfill.idle
    private let allocator = ByteBufferAllocator()

    init(
        loops: [NIOLoopBoundBox<LoopHub>], shedding: LoopShedding, hubLoop: any EventLoop, stats: GatewayStats,
        history: HistoryReader, logger: Logger
    ) {
        self.loops = loops
        self.shedding = shedding
        self.hubLoop = hubLoop
        self.stats = stats
        self.history = history
        self.logger = logger
    }

    // MARK: Streams joining and leaving

    /// Registers the streams that opened on one loop during one of its ticks (``Hub/join(_:loop:dialect:)``), with
    /// one `SUBSCRIBE` for the topics new to the node; each stream's promise (on its loop) completes once its topics
    /// are confirmed.
    func join(_ requests: [JoinRequest], loop: Int) {
        var newTopics: [Topic] = []
        for request in requests {
            for topic in request.topics {
                if topics[topic] == nil {
                    topics[topic] = Entry(streamsPerLoop: Array(repeating: 0, count: loops.count), streams: 0)
                    newTopics.append(topic)
                }
                topics[topic]!.streamsPerLoop[loop] += 1
                topics[topic]!.streams += 1
                topics[topic]!.streamsPerFormat[request.format, default: 0] += 1
                topics[topic]!.formats.insert(FormatSet(request.format))
            }
            waiters.append(Waiter(topics: Set(request.topics), promise: request.promise, loop: loop))
        }
        stats.subscribedTopics.store(topics.count, ordering: .relaxed)
        if !newTopics.isEmpty, let subscriber {
            subscriber.requestFuture(.subscribe, newTopics.map(\.channel)).hop(to: hubLoop).assumeIsolated()
                .whenComplete { [self] result in
                    if case .success = result, redisUp {
                        for topic in newTopics where topics[topic] != nil { topics[topic]!.confirmed = true }
                    }
                    if case .failure(let error) = result {
                        logger.warning(
                            "subscribe failed", metadata: ["sse.topics": "\(newTopics)", "error": "\(error)"])
                    }
                    releaseWaiters()
                }
        }
        releaseWaiters()
    }

    func leave(_ left: [Topic], loop: Int, format: StreamFormat) {
        var gone: [Topic] = []
        for topic in left {
            guard var entry = topics[topic] else { continue }
            entry.streamsPerLoop[loop] -= 1
            entry.streams -= 1
            entry.streamsPerFormat[format, default: 1] -= 1
            if entry.streamsPerFormat[format] == 0 {
                entry.streamsPerFormat.removeValue(forKey: format)
                entry.formats.remove(FormatSet(format))
            }
            if entry.streams == 0 {
                topics.removeValue(forKey: topic)
                gone.append(topic)
            } else {
                topics[topic] = entry
            }
        }
        stats.subscribedTopics.store(topics.count, ordering: .relaxed)
        if !gone.isEmpty, let subscriber {
            _ = subscriber.requestFuture(.unsubscribe, gone.map(\.channel))
        }
    }

    /// Completes the joins whose topics are all confirmed on a live Redis connection: one hop to each loop with
    /// streams to release.
    private func releaseWaiters() {
        guard redisUp else { return }
        var ready: [[EventLoopPromise<Void>]] = Array(repeating: [], count: loops.count)
        waiters.removeAll { waiter in
            guard waiter.topics.allSatisfy({ topics[$0]?.confirmed ?? true }) else { return false }
            ready[waiter.loop].append(waiter.promise)
            return true
        }
        for (index, promises) in ready.enumerated() where !promises.isEmpty {
            loops[index].eventLoop.execute { for promise in promises { promise.succeed(()) } }
        }
    }

    // MARK: Redis events

    func handle(_ event: RedisSubscriber.Event) {
        switch event {
        case .message(let channel, let payload):
            guard let topic = Topic(channel: channel) else {
                if channel == ControlMessage.channel { control(payload) }
                return
            }
            stats.messagesReceived.add(1, ordering: .relaxed)
            let message = RedisEnvelope.decode(payload)
            if case .running(var parked) = backfill {
                backfill = .idle
                parked.append((topic, message))
                backfill = .running(parked: parked)
            } else {
                relay(topic, message)
            }
        case .patternMessage:
            break
        case .connected:
            redisUp = true
            stats.redisConnected.store(true, ordering: .relaxed)
            confirmAll()
        case .disconnected(let error):
            redisUp = false
            stats.redisConnected.store(false, ordering: .relaxed)
            for topic in topics.keys { topics[topic]!.confirmed = false }
            logger.warning("Redis subscription down", metadata: ["error": "\(error)"])
        case .reconnected:
            redisUp = true
            stats.redisConnected.store(true, ordering: .relaxed)
            stats.redisReconnects.add(1, ordering: .relaxed)
            confirmAll()
            startBackfill()
        }
    }

    private func confirmAll() {
        for topic in topics.keys { topics[topic]!.confirmed = true }
        releaseWaiters()
    }

    /// Encodes an event once per dialect the topic's streams use and hands the frames to each loop holding streams
    /// of the topic (one hop per loop). An engine-only topic costs one encode and no parsing.
    private func relay(_ topic: Topic, _ event: ServerSentEvent) {
        let previousID = lastRelayedID
        if let id = event.id {
            if let last = lastRelayedID, id <= last { return }  // already relayed (backfill seam)
            lastRelayedID = id
        }
        guard let entry = topics[topic] else { return }
        let frames = StreamFrames(encoding: event, topic: topic, for: entry.formats, allocator: allocator)
        stats.countEncodes(frames.encoded)
        let id = event.id
        let bytes = frames.bytes
        for (index, count) in entry.streamsPerLoop.enumerated() where count > 0 {
            let box = loops[index]
            guard shedding.admit(topic, loop: index, streams: count, after: previousID) else { continue }
            let backlog = shedding.backlogs[index]
            backlog.bytes.add(bytes, ordering: .relaxed)
            box.eventLoop.execute {
                box.value.deliver(topic: topic, frames: frames, id: id)
                backlog.bytes.subtract(bytes, ordering: .relaxed)
            }
        }
    }

    // MARK: Backfill after a Redis reconnect

    private func startBackfill() {
        guard let after = lastRelayedID, !topics.isEmpty else { return }
        if case .running = backfill { return }
        backfill = .running(parked: [])
        readBackfill(after: after, topics: Array(topics.keys), attempt: 1)
    }

    private func readBackfill(after: EventID, topics wanted: [Topic], attempt: Int) {
        history.read(topics: wanted, after: after).hop(to: hubLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(.events(let events)):
                stats.backfilledEvents.add(events.count, ordering: .relaxed)
                logger.info("backfilled after Redis reconnect", metadata: ["sse.events": "\(events.count)"])
                for item in events { relay(item.topic, item.event) }
            case .success(.unknownID):
                // Redis lost the data the node's position refers to: every stream is told, forgets its ids, and
                // then gets what the new data holds (events published before this node resubscribed included).
                resync(topics: nil, reason: "redis-data-lost", forgettingIDs: true)
                lastRelayedID = nil
                readFromOrigin(topics: wanted, attempt: 1)
                return
            case .success(.trimmed(let topic)), .success(.limitExceeded(let topic)):
                resync(topics: [topic], reason: "history-trimmed")
            case .failure(let error) where attempt < 3:
                logger.warning("backfill failed, retrying", metadata: ["error": "\(error)"])
                hubLoop.assumeIsolated().scheduleTask(in: .milliseconds(200 * Int64(attempt))) {
                    self.readBackfill(after: after, topics: wanted, attempt: attempt + 1)
                }
                return
            case .failure(let error):
                logger.error("backfill failed, telling clients to resync", metadata: ["error": "\(error)"])
                resync(topics: nil, reason: "backfill-failed")
            }
            guard case .running(let parked) = backfill else { return }
            backfill = .idle
            for (topic, event) in parked { relay(topic, event) }
        }
    }

    // MARK: Control messages

    /// Carries out a message of the control channel on every loop that holds streams it concerns, after the events
    /// already handed to those loops.
    private func control(_ payload: ByteBuffer) {
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
            for (index, count) in entry.streamsPerLoop.enumerated() where count > 0 {
                let box = loops[index]
                box.eventLoop.execute { box.value.end(topic: topic, reason: reason) }
            }
        }
    }

    /// After a data loss: relays what the new data holds from its clock's origin, then the live messages parked
    /// meanwhile (the relay's id check drops what the read already carried).
    private func readFromOrigin(topics wanted: [Topic], attempt: Int) {
        history.readFromOrigin(topics: wanted).hop(to: hubLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(.events(let events)):
                stats.backfilledEvents.add(events.count, ordering: .relaxed)
                logger.info(
                    "delivered what Redis holds after it lost its data", metadata: ["sse.events": "\(events.count)"])
                for item in events { relay(item.topic, item.event) }
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
            guard case .running(let parked) = backfill else { return }
            backfill = .idle
            for (topic, event) in parked { relay(topic, event) }
        }
    }

    /// Sends an in-band `resync` event to the streams of `topics` (all when nil) on every loop; with
    /// `forgettingIDs` the streams also forget their last ids (they came from data Redis no longer has).
    private func resync(topics affected: Set<Topic>?, reason: String, forgettingIDs: Bool = false) {
        let frame = ResyncNotice.frame(reason: reason, topics: affected.map { Array($0) })
        let stats = self.stats
        for box in loops {
            box.eventLoop.execute {
                let count = box.value.broadcast(frame, topics: affected, forgettingIDs: forgettingIDs)
                stats.resyncs.add(count, ordering: .relaxed)
            }
        }
    }
}
