import Logging
import NIOCore
import RedisClient
import SSEAuth
import SSEHistory
import SSEProtocol
import Synchronization

/// What the node hub asks of the Redis subscription (``RedisSubscriber``; a fake in unit tests).
protocol SubscriptionControl: Sendable {
    /// Subscribes or unsubscribes `channels`; the future completes once Redis has confirmed each of them.
    func requestFuture(_ kind: SubscriptionKind, _ channels: [String]) -> EventLoopFuture<Void>
}

extension RedisSubscriber: SubscriptionControl {}

/// The node's fan-out state, confined to the hub loop (the Redis subscriber's loop, which serves no clients).
///
/// It is the one owner of what concerns the whole node: which topics are subscribed in Redis (a topic is
/// subscribed when its first local stream arrives and unsubscribed when its last leaves), which loops hold streams
/// of each topic and in which formats (so a message is encoded once per format in use), which joins wait for
/// Redis to confirm their topics, the last reliable id relayed (the subscriber connection delivers every topic in
/// one id-ordered stream, so one id marks the node's position on all of them), the backfill after a Redis
/// reconnect (`NodeHub+Recovery.swift`), and the shedding of loops that fall behind with its backlog counters
/// (``Shedding``).
///
/// Control only flows down: the node hub hands messages, notices and catch-ups to the ``LoopHub``s, one hop per
/// loop; loop hubs send it joins (batched per tick) and leaves.
///
/// Its hot stored properties are `@exclusivity(unchecked)`: they are only touched on its event loop, one access at
/// a time, so the dynamic exclusivity checks guard nothing and cost a few percent of the loop on the hot path.
final class NodeHub {
    struct Entry {
        var streamsPerLoop: [Int]
        var streams = 0
        /// Streams of the topic on this node per format; a format leaves ``formats`` when its count reaches 0.
        var streamsPerFormat: [StreamFormat: Int] = [:]
        /// The formats with at least one stream of the topic on this node.
        var formats: FormatSet = []
        /// Redis has confirmed the subscription on the current connection.
        var confirmed = false
        /// When ids are per topic (a Redis Cluster): the last id relayed of the topic, or its clock's last id when
        /// the node subscribed — where the topic's backfill reads on from, and where a positioned stream that
        /// joins starts its entry for it.
        var lastID: EventID?
    }

    /// A join whose promise completes (on its stream's loop) once all its topics are confirmed.
    struct Waiter {
        var topics: Set<Topic>
        let promise: EventLoopPromise<[Topic: EventID]>
        let loop: Int
    }

    enum Backfill {
        case idle
        /// Live messages parked until the history after `lastRelayedID` has been relayed.
        case running(parked: [(Topic, ServerSentEvent)])
    }

    let hubLoop: any EventLoop
    /// Ids come from one clock per topic (a Redis Cluster), not one for the whole Redis: the node's position is
    /// kept per topic (``Entry/lastID``) and backfills read per topic, on each topic's shard.
    let idsPerTopic: Bool
    let stats: GatewayStats
    let history: any HistorySource
    let logger: Logger
    /// The node's revocations, shared with its ``StreamAuthorizer``: recorded here from the control channel.
    let revocations: Revocations
    /// Set by ``start(subscription:loops:)`` on the hub loop, before any stream opens.
    private(set) var subscription: (any SubscriptionControl)?
    private(set) var loops: [NIOLoopBoundBox<LoopHub>] = []
    @exclusivity(unchecked) var topics: [Topic: Entry] = [:]
    private(set) var waiters: [Waiter] = []
    @exclusivity(unchecked) var redisUp = false
    @exclusivity(unchecked) var lastRelayedID: EventID?
    /// The topic of ``lastRelayedID``: its stream must still hold that id after a reconnect, or Redis lost data.
    @exclusivity(unchecked) var lastRelayedTopic: Topic?
    /// Nothing was relayed yet and Redis's clock had issued nothing when the node subscribed: after a reconnect
    /// every event of the current data is new to the node (``notePositionFromClock(_:)``).
    @exclusivity(unchecked) var nothingBefore = false
    /// The reliable ids relayed most recently, for telling what is new after Redis lost data (``RecentIDs``).
    @exclusivity(unchecked) var recent = RecentIDs()
    @exclusivity(unchecked) var backfill = Backfill.idle
    /// When ids are per topic: the topics whose backfill runs, with the live messages parked meanwhile.
    @exclusivity(unchecked) var topicBackfills: [Topic: [ServerSentEvent]] = [:]
    @exclusivity(unchecked) var shedding: Shedding
    /// Events relayed during this hub tick and not yet handed to each loop: handed over in one hop per loop at the
    /// end of the tick (``handOver()``), so a burst of messages from Redis costs each loop one task, not one each.
    @exclusivity(unchecked) private var pending: [[HandOff]] = []
    @exclusivity(unchecked) private var handOverScheduled = false
    private let allocator = ByteBufferAllocator()

    init(
        hubLoop: any EventLoop, loopCount: Int, maxLoopBacklogBytes: Int, stats: GatewayStats,
        history: any HistorySource, logger: Logger, revocations: Revocations = Revocations(), idsPerTopic: Bool = false
    ) {
        self.hubLoop = hubLoop
        self.idsPerTopic = idsPerTopic
        self.revocations = revocations
        self.stats = stats
        self.history = history
        self.logger = logger
        self.shedding = Shedding(loops: loopCount, maxBytes: maxLoopBacklogBytes)
    }

    /// Binds the node hub to its subscription and its loops. Every node follows the control channel for as long as
    /// it runs (the subscriber renews it on reconnects).
    func start(subscription: any SubscriptionControl, loops: [NIOLoopBoundBox<LoopHub>]) {
        self.subscription = subscription
        self.loops = loops
        self.pending = Array(repeating: [], count: loops.count)
        _ = subscription.requestFuture(.subscribe, [ControlMessage.channel])
    }

    // MARK: Streams joining and leaving

    /// Registers the streams that opened on one loop during one of its ticks (``LoopHub/open(_:lastEventID:)``),
    /// with one `SUBSCRIBE` for the topics new to the node; each stream's promise completes, on its loop, once its
    /// topics are confirmed on a live connection.
    func join(_ requests: [JoinRequest], loop: Int) {
        var newTopics: [Topic] = []
        for request in requests {
            for topic in request.topics {
                if topics[topic] == nil {
                    topics[topic] = Entry(streamsPerLoop: Array(repeating: 0, count: loops.count))
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
        if !newTopics.isEmpty { subscribe(newTopics) }
        releaseWaiters()
    }

    /// `SUBSCRIBE` (on a Cluster, `SSUBSCRIBE` on each topic's shard) for topics new to the node; the joins waiting
    /// for them are released once confirmed. On a Cluster a subscription that failed (redirected past the
    /// subscriber's attempts, a shard without a primary) is tried again every second while its topic has streams.
    private func subscribe(_ newTopics: [Topic]) {
        guard let subscription else { return }
        subscription.requestFuture(.subscribe, newTopics.map(\.channel)).hop(to: hubLoop).assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success where redisUp && idsPerTopic:
                    confirmWithClocks(newTopics)
                    return
                case .success where redisUp:
                    for topic in newTopics where topics[topic] != nil { topics[topic]!.confirmed = true }
                    if lastRelayedID == nil { notePositionFromClock(newTopics) }
                case .success:
                    break  // confirmed on a connection that is gone: the reconnect confirms it again
                case .failure(let error):
                    logger.warning(
                        "subscribe failed", metadata: ["sse.topics": "\(newTopics)", "error": "\(error)"])
                    if idsPerTopic {
                        hubLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [self] in
                            let still = newTopics.filter { topics[$0].map { !$0.confirmed } ?? false }
                            if !still.isEmpty { subscribe(still) }
                        }
                    }
                }
                releaseWaiters()
            }
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
        if !gone.isEmpty, let subscription {
            _ = subscription.requestFuture(.unsubscribe, gone.map(\.channel))
        }
    }

    /// Completes the joins whose topics are all confirmed on a live Redis connection (a topic whose streams have
    /// all left meanwhile counts as confirmed): one hop to each loop with joins to release.
    func releaseWaiters() {
        guard redisUp else { return }
        handOver()  // what was relayed before the releases reaches the loops first
        var ready: [[(EventLoopPromise<[Topic: EventID]>, [Topic: EventID])]] = Array(
            repeating: [], count: loops.count)
        waiters.removeAll { waiter in
            guard waiter.topics.allSatisfy({ topics[$0]?.confirmed ?? true }) else { return false }
            var known: [Topic: EventID] = [:]
            if idsPerTopic { for topic in waiter.topics { known[topic] = topics[topic]?.lastID } }
            ready[waiter.loop].append((waiter.promise, known))
            return true
        }
        for (index, promises) in ready.enumerated() where !promises.isEmpty {
            loops[index].eventLoop.execute { for (promise, known) in promises { promise.succeed(known) } }
        }
    }

    // MARK: Redis events

    /// Every event of the Redis subscriber, on the hub loop.
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
                backfill = .idle  // drop the array reference while appending (no copy)
                parked.append((topic, message))
                backfill = .running(parked: parked)
            } else {
                relay(topic, message)
            }
        case .patternMessage:
            break
        case .connected:
            connectionUp()
            loadRevocations()
        case .disconnected(let error):
            redisUp = false
            stats.auth.revocationsLoaded.store(false, ordering: .relaxed)
            stats.redisConnected.store(false, ordering: .relaxed)
            for topic in topics.keys { topics[topic]!.confirmed = false }
            logger.warning("Redis subscription down", metadata: ["error": "\(error)"])
        case .reconnected:
            stats.redisReconnects.add(1, ordering: .relaxed)
            connectionUp()
            startBackfill()
            loadRevocations()
        }
    }

    /// The subscriber (re)connected with every subscription restored: all topics are confirmed.
    private func connectionUp() {
        redisUp = true
        stats.redisConnected.store(true, ordering: .relaxed)
        for topic in topics.keys { topics[topic]!.confirmed = true }
        releaseWaiters()
    }

    /// Encodes an event once per format the topic's streams use and hands the frames to each loop holding streams
    /// of the topic that is not shedding (one hop per loop). An engine-only topic costs one encode and no parsing.
    /// A reliable event at or below the last relayed id was relayed already (the seam of a backfill) and is dropped.
    /// An event read back from history (`live: false`, a backfill) is not measured for the delivery latency.
    func relay(_ topic: Topic, _ event: ServerSentEvent, live: Bool = true) {
        let previousID: EventID?
        let entry: Entry
        if idsPerTopic {
            guard let found = topics[topic] else { return }
            previousID = found.lastID
            if let id = event.id {
                if let last = previousID, id <= last { return }
                topics[topic]!.lastID = id
                recent.record(topic, id)
            }
            entry = found
        } else {
            previousID = lastRelayedID
            if let id = event.id {
                if let last = lastRelayedID, id <= last { return }
                lastRelayedID = id
                lastRelayedTopic = topic
                recent.record(topic, id)
            }
            guard let found = topics[topic] else { return }
            entry = found
        }
        let frames = StreamFrames(encoding: event, topic: topic, for: entry.formats, allocator: allocator)
        stats.countEncodes(frames.encoded)
        let id = event.id
        for (index, count) in entry.streamsPerLoop.enumerated() where count > 0 {
            guard admit(topic, loop: index, streams: count, after: previousID) else { continue }
            shedding.count(frames.bytes, relayedTo: index)
            pending[index].append(HandOff(topic: topic, frames: frames, id: id, live: live))
        }
        if !handOverScheduled {
            handOverScheduled = true
            // Queued behind the messages of this read from Redis, so they all go in one hop per loop.
            hubLoop.assumeIsolated().execute { [self] in handOver() }
        }
    }

    /// Hands each loop the events relayed for it since the last hand-over, in one hop. Called at the end of a hub
    /// tick, and before anything else goes to the loops (a notice, an end, a catch-up, a join's release), so that
    /// it reaches them after the events relayed before it.
    func handOver() {
        handOverScheduled = false
        for index in pending.indices where !pending[index].isEmpty {
            let (box, backlog) = (loops[index], shedding.backlogs[index])
            let events = pending[index]
            pending[index].removeAll(keepingCapacity: true)
            box.eventLoop.execute {
                let loopHub = box.value
                var bytes = 0
                for event in events {
                    loopHub.deliver(topic: event.topic, frames: event.frames, id: event.id, live: event.live)
                    bytes += event.frames.bytes
                }
                backlog.delivered(bytes)
            }
        }
    }
}

/// One relayed event on its way to a loop (``NodeHub/handOver()``).
struct HandOff {
    let topic: Topic
    let frames: StreamFrames
    let id: EventID?
    /// Relayed as Redis published it (not read back from history): measured for the delivery latency.
    let live: Bool
}

/// A stream asking to be registered on the node (``NodeHub/join(_:loop:)``).
struct JoinRequest {
    let topics: [Topic]
    let format: StreamFormat
    /// Completed on the stream's loop once its topics are subscribed in Redis, with the last id the node knows of
    /// each topic when ids are per topic (empty otherwise).
    let promise: EventLoopPromise<[Topic: EventID]>
}
