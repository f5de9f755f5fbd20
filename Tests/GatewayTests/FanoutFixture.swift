import Logging
import NIOCore
import NIOEmbedded
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization
import Testing

@testable import Gateway

/// The node's whole fan-out (``Fanout``: the node hub and its loop hubs) on embedded loops, with a fake Redis
/// subscription and a fake history whose answers the test gives by hand, and streams on embedded channels. Nothing
/// runs until the test runs the loops (``settle()``), so every step is deterministic.
final class FanoutFixture {
    let hubLoop = EmbeddedEventLoop()
    let loops: [EmbeddedEventLoop]
    let stats = GatewayStats()
    let subscription: FakeSubscription
    let history: FakeHistory
    let fanout: Fanout
    private var channels: [ObjectIdentifier: EmbeddedChannel] = [:]

    init(loops count: Int = 1, maxLoopBacklogBytes: Int = 1 << 20, idsPerTopic: Bool = false) {
        loops = (0..<count).map { _ in EmbeddedEventLoop() }
        subscription = FakeSubscription(loop: hubLoop)
        history = FakeHistory(loop: hubLoop)
        var logger = Logger(label: "fanout-test")
        logger.logLevel = .critical
        fanout = Fanout(
            eventLoops: loops, hubLoop: hubLoop, history: history, nodeID: "node-t", heartbeatInterval: .seconds(3600),
            maxLoopBacklogBytes: maxLoopBacklogBytes, stats: stats, logger: logger, idsPerTopic: idsPerTopic)
    }

    /// Starts the fan-out on a subscription that is up, as a node's start does (the control channel is subscribed
    /// first, and confirmed here).
    func startConnected() {
        fanout.start(subscription: subscription)
        settle()
        subscription.confirmAll()
        node.handle(.connected)
        settle()
    }

    /// ``startConnected()`` for a node on a Redis Cluster: its control subscription is up.
    func startConnectedOnCluster() {
        fanout.start(subscription: subscription)
        settle()
        subscription.confirmAll()
        node.handle(control: .connected)
        settle()
    }

    var node: NodeHub { fanout.node.value }
    func loopHub(_ index: Int = 0) -> LoopHub { fanout.loops[index].value }

    /// Runs every loop's queued work, round after round: each hop between loops takes one round, and no path of the
    /// fan-out hops more than four times.
    func settle() {
        for _ in 0..<6 {
            hubLoop.run()
            for loop in loops { loop.run() }
        }
    }

    /// Opens a stream on loop `loop` as the HTTP handler does once it has answered `GET /sse`.
    func open(
        _ topics: [String], loop: Int = 0, format: StreamFormat = StreamFormat(), lastEventID: EventID? = nil,
        resume: StreamResume? = nil, maxUnsentBytes: Int = 1 << 20
    ) throws -> SSEStream {
        let resume = resume ?? lastEventID.map(StreamResume.after)
        let stream = SSEStream(
            topics: try topics.map { try Topic(validating: $0) }, format: format, lastEventID: lastEventID,
            loopHub: loopHub(loop), maxUnsentBytes: maxUnsentBytes, stats: stats,
            replaying: resume != nil || format.positioned)
        let channel = EmbeddedChannel(handler: stream, loop: loops[loop])
        channels[ObjectIdentifier(stream)] = channel
        stats.activeConnections.add(1, ordering: .relaxed)
        loopHub(loop).open(stream, resume: resume)
        return stream
    }

    /// ``open(_:loop:format:lastEventID:resume:maxUnsentBytes:)``, then Redis confirms its topics and the loops run:
    /// its join completes (a replay's reads are then waiting in ``history``).
    func openConfirmed(
        _ topics: [String], format: StreamFormat = StreamFormat(), lastEventID: EventID? = nil,
        resume: StreamResume? = nil
    ) throws -> SSEStream {
        let stream = try open(topics, format: format, lastEventID: lastEventID, resume: resume)
        settle()
        subscription.confirmAll()
        settle()
        return stream
    }

    /// On a Cluster node: a positioned stream of topics `a` and `b` resuming after `a`'s entry 5-0 and `b`'s 7-0, opened
    /// and confirmed, with the two exact per-topic reads that its replay makes (each on its own shard).
    func openPositionedAtA5B7() throws -> (stream: SSEStream, a5: EventID, b7: EventID, reads: [FakeHistory.Read]) {
        startConnectedOnCluster()
        let (a5, b7) = (EventID(milliseconds: 5, sequence: 0), EventID(milliseconds: 7, sequence: 0))
        let (a, b) = (try Topic(validating: "a"), try Topic(validating: "b"))
        let stream = try openConfirmed(
            ["a", "b"], format: StreamFormat(positioned: true), resume: .positions([a: a5, b: b7]))
        return (stream, a5, b7, [.exactAfter(a5, topics: [a], issuedIn: a), .exactAfter(b7, topics: [b], issuedIn: b)])
    }

    /// Opens a stream whose topics Redis then confirms, and takes its opening comment (checked to be exactly that).
    func openAnswered(_ topics: [String], loop: Int = 0) throws -> SSEStream {
        let stream = try open(topics, loop: loop)
        settle()
        subscription.confirmAll()
        settle()
        #expect(try writes(stream) == [": connected to node-t\n\n"])
        return stream
    }

    func channel(of stream: SSEStream) -> EmbeddedChannel { channels[ObjectIdentifier(stream)]! }

    /// A reliable message of `topic` as the subscriber hands it to the node hub (the `sse_publish` envelope).
    static func message(_ topic: String, _ data: String, id: UInt64) -> RedisSubscriber.Event {
        let payload = RedisEnvelope.encodeReliable(id: Self.id(id), event: nil, data: ByteBuffer(string: data))
        return .message(channel: "sse:{\(topic)}", payload: payload)
    }

    static func id(_ sequence: UInt64) -> EventID { EventID(milliseconds: 1, sequence: sequence) }

    static func frame(_ data: String, id: UInt64? = nil) -> String {
        (id.map { "id: 1-\($0)\n" } ?? "") + "data: \(data)\n\n"
    }

    /// The frames of events `eN` with ids `1-N`, one string per event.
    static func frames(_ ids: ClosedRange<UInt64>) -> [String] { ids.map { frame("e\($0)", id: $0) } }

    /// Events `eN` with ids `1-N` of `topic`, as a history read returns them.
    static func events(_ topic: String, _ ids: ClosedRange<UInt64>) throws -> [TopicEvent] {
        try ids.map { try event(topic, "e\($0)", id: $0) }
    }

    static func event(_ topic: String, _ data: String, id: UInt64) throws -> TopicEvent {
        TopicEvent(topic: try Topic(validating: topic), event: ServerSentEvent(id: Self.id(id), data: data))
    }

    /// Every buffer written to the stream's channel since the last call, one string per write, with the chunk
    /// framing taken off (each write must be a run of whole chunks).
    func writes(_ stream: SSEStream) throws -> [String] {
        var writes: [String] = []
        while let buffer = try channel(of: stream).readOutbound(as: ByteBuffer.self) {
            let payloads = try #require(HTTPChunk.payloads(of: buffer), "not whole chunks: \(String(buffer: buffer))")
            writes.append(payloads.map { String(buffer: $0) }.joined())
        }
        return writes
    }

    /// Every buffer written since the last call, exactly as written (chunk framing included).
    func rawWrites(_ stream: SSEStream) throws -> [String] {
        var writes: [String] = []
        while let buffer = try channel(of: stream).readOutbound(as: ByteBuffer.self) {
            writes.append(String(buffer: buffer))
        }
        return writes
    }
}

/// The Redis subscription as the node hub sees it: requests are recorded, and complete when the test confirms them.
final class FakeSubscription: SubscriptionControl {
    struct Request: Equatable {
        let kind: SubscriptionKind
        let channels: [String]
    }

    private let loop: any EventLoop
    private let state = Mutex<(log: [Request], pending: [EventLoopPromise<Void>])>(([], []))

    init(loop: any EventLoop) { self.loop = loop }

    func requestFuture(_ kind: SubscriptionKind, _ channels: [String]) -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        state.withLock {
            $0.log.append(Request(kind: kind, channels: channels))
            $0.pending.append(promise)
        }
        return promise.futureResult
    }

    /// The requests made since the last call.
    func takeRequests() -> [Request] {
        state.withLock { state in
            defer { state.log.removeAll() }
            return state.log
        }
    }

    /// Redis confirms every request made so far.
    func confirmAll() {
        let pending = state.withLock { state in
            defer { state.pending.removeAll() }
            return state.pending
        }
        for promise in pending { promise.succeed(()) }
    }
}

/// History reads as the fan-out makes them: recorded, and answered by the test.
final class FakeHistory: HistorySource {
    enum Read: Equatable {
        case after(EventID, topics: Set<Topic>)
        /// A read whose id must still be in `issuedIn`'s history.
        case exactAfter(EventID, topics: Set<Topic>, issuedIn: Topic)
        case fromOrigin(topics: Set<Topic>)
    }

    private let loop: any EventLoop
    private let state = Mutex<[(read: Read, promise: EventLoopPromise<HistoryResult>)]>([])

    init(loop: any EventLoop) { self.loop = loop }

    func read(topics: [Topic], after id: EventID, issuedIn: Topic?) -> EventLoopFuture<HistoryResult> {
        record(issuedIn.map { .exactAfter(id, topics: Set(topics), issuedIn: $0) } ?? .after(id, topics: Set(topics)))
    }

    func readFromOrigin(topics: [Topic]) -> EventLoopFuture<HistoryResult> {
        record(.fromOrigin(topics: Set(topics)))
    }

    /// Revocations kept in Redis: none in these tests (the control channel's are delivered as messages).
    func revocations() -> EventLoopFuture<[String]> { loop.makeSucceededFuture([]) }

    /// Each topic's own read, recorded and answered one by one (``Read/exactAfter(_:topics:issuedIn:)`` when exact).
    func read(positions: [Topic: EventID], exact: Bool) -> EventLoopFuture<[Topic: HistoryResult]> {
        perTopic(
            positions.sorted { $0.key.name < $1.key.name }.map { topic, id in
                (topic, exact ? Read.exactAfter(id, topics: [topic], issuedIn: topic) : Read.after(id, topics: [topic]))
            })
    }

    func readFromOrigin(perTopic topics: [Topic]) -> EventLoopFuture<[Topic: HistoryResult]> {
        perTopic(topics.sorted { $0.name < $1.name }.map { ($0, Read.fromOrigin(topics: [$0])) })
    }

    /// The clocks' last ids the test sets (``clocks``), answered at once.
    func lastIDs(of topics: [Topic]) -> EventLoopFuture<[Topic: EventID]> {
        let clocks = self.clocks.withLock { $0 }
        return loop.makeSucceededFuture(clocks.filter { topics.contains($0.key) })
    }

    /// The last id of each topic's clock, for ``lastIDs(of:)``.
    let clocks = Mutex<[Topic: EventID]>([:])

    private func perTopic(_ reads: [(Topic, Read)]) -> EventLoopFuture<[Topic: HistoryResult]> {
        let futures = reads.map { topic, read in record(read).map { (topic, $0) } }
        return EventLoopFuture.whenAllSucceed(futures, on: loop).map { Dictionary(uniqueKeysWithValues: $0) }
    }

    private func record(_ read: Read) -> EventLoopFuture<HistoryResult> {
        let promise = loop.makePromise(of: HistoryResult.self)
        state.withLock { $0.append((read, promise)) }
        return promise.futureResult
    }

    /// The reads waiting for an answer, oldest first.
    var pending: [Read] { state.withLock { $0.map(\.read) } }

    /// Answers the oldest waiting read.
    func answer(_ result: Result<HistoryResult, any Error>) {
        let promise = state.withLock { $0.removeFirst().promise }
        promise.completeWith(result)
    }

    func answer(_ result: HistoryResult) { answer(.success(result)) }
}
