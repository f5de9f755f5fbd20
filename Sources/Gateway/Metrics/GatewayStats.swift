import NIOCore
import RedisClient
import SSEProtocol
import Synchronization

/// The node's figures, shared by every event loop. Counters are atomics updated once per batch (one per message
/// per loop, not one per client), so the hot path stays cheap; `/sse-metrics` and `/metrics` read the same values.
public final class GatewayStats: Sendable {
    public let startedAt = ContinuousClock.now
    let activeConnections = Atomic<Int>(0)
    let connectionsTotal = Atomic<Int>(0)
    /// Event frames written to clients (one per client per event), replayed ones included.
    let eventsSent = Atomic<Int>(0)
    /// Messages received from Redis (one per published event, whatever the number of clients).
    let messagesReceived = Atomic<Int>(0)
    /// Sum of the durations of closed streams, in milliseconds.
    let closedDurationMilliseconds = Atomic<Int>(0)
    let closedConnections = Atomic<Int>(0)
    /// HTTP requests answered (any path), and those answered with an error status (a `/readyz` 503 is an answer,
    /// not an error, and is not counted).
    let requests = Atomic<Int>(0)
    let rejectedRequests = Atomic<Int>(0)
    /// `GET /sse` requests, and those refused (4xx/5xx) before a stream opened.
    let streamRequests = Atomic<Int>(0)
    let rejectedStreamRequests = Atomic<Int>(0)
    /// Streams that ended because of an error on our side or the client's (slow consumer, write error, replay
    /// failure).
    let streamErrors = Atomic<Int>(0)
    let slowConsumerDisconnects = Atomic<Int>(0)
    /// Streams finished on purpose (an `end` control message), with the body's last chunk.
    let endedStreams = Atomic<Int>(0)
    /// Times the listener paused accepting because the process was out of file descriptors (or another accept
    /// error), and when the last warning was logged (uptime milliseconds; warnings are logged at most every 10 s).
    let acceptBackoffs = Atomic<Int>(0)
    let lastAcceptWarning = Atomic<Int>(-10_000)
    /// Connections answered 503 at once because the process was out of file descriptors (``DescriptorReserve``).
    let shedConnections = Atomic<Int>(0)
    /// `GET /sse` requests refused with 429 by the limits per client address (``StreamLimits``).
    let streamsPerClientRefusals = Atomic<Int>(0)
    let newStreamsPerSecondRefusals = Atomic<Int>(0)
    let replayedEvents = Atomic<Int>(0)
    /// Replay reads tried again after a failure (``LoopHub/replay(_:from:once:attempt:)``).
    let replayRetries = Atomic<Int>(0)
    let resyncs = Atomic<Int>(0)
    let heartbeatsSent = Atomic<Int>(0)
    let redisConnected = Atomic<Bool>(false)
    let redisReconnects = Atomic<Int>(0)
    let subscribedTopics = Atomic<Int>(0)
    let backfilledEvents = Atomic<Int>(0)
    /// Live deliveries not handed to an event loop that was too far behind (one per stream per event; those
    /// streams catch up from history), and the streams that caught up that way.
    let shedDeliveries = Atomic<Int>(0)
    let caughtUpStreams = Atomic<Int>(0)
    let draining = Atomic<Bool>(false)
    /// Live messages encoded into each dialect's frame by the hub: at most one per dialect per message, and only
    /// for dialects some stream of the topic uses. A plain event is encoded once and counted as `engine`, whatever
    /// dialects share it.
    let engineEncodes = Atomic<Int>(0)
    let htmxEncodes = Atomic<Int>(0)
    let datastarEncodes = Atomic<Int>(0)
    let turboEncodes = Atomic<Int>(0)
    /// Private topics: refusals, expiries, revocations.
    let auth = AuthStats()
    /// Live reliable events from publish to write (``DeliveryLatency``).
    let deliveryLatency = DeliveryLatency()
    private let rate = Mutex(RateWindow())
    /// Where the Redis subscriber links' reports come from (``followRedisLinks(_:)``); none until the gateway's
    /// subscriber starts.
    private let redisLinkSource = Mutex<@Sendable () -> [RedisLinkReport]>({ [] })

    public init() {}

    /// Reads the subscriber links from `source` from now on: `{ subscriber.links }` of a ``RedisSubscriber`` (one
    /// Redis, Sentinel) or of a ``RedisClusterSubscriber`` (one link per shard). `/sse-metrics`, `/metrics` and
    /// readiness show what it returns.
    public func followRedisLinks(_ source: @escaping @Sendable () -> [RedisLinkReport]) {
        redisLinkSource.withLock { $0 = source }
    }

    /// Every subscriber link as it stands now, by address.
    var redisLinks: [RedisLinkReport] { redisLinkSource.withLock { $0 }() }

    /// Why the node cannot count on its Redis links (the first link down, or whose last probe failed), or nil.
    var redisLinkProblem: String? { redisLinks.lazy.compactMap(\.problem).first }

    /// Events sent per second over the last few seconds, and the delivery latency's one-minute window; sampled by a
    /// timer once a second.
    func sampleRate() {
        let now = ContinuousClock.now
        let total = eventsSent.load(ordering: .relaxed)
        rate.withLock { $0.add(total: total, at: now) }
        deliveryLatency.sample()
    }

    var eventsPerSecond: Double { rate.withLock { $0.perSecond } }

    /// Counts one encode for each dialect in `encoded`.
    func countEncodes(_ encoded: DialectSet) {
        if encoded.contains(.engine) { engineEncodes.add(1, ordering: .relaxed) }
        if encoded.contains(.htmx) { htmxEncodes.add(1, ordering: .relaxed) }
        if encoded.contains(.datastar) { datastarEncodes.add(1, ordering: .relaxed) }
        if encoded.contains(.turbo) { turboEncodes.add(1, ordering: .relaxed) }
    }

    func dialectEncodes(_ dialect: Dialect) -> Int {
        switch dialect {
        case .engine: engineEncodes.load(ordering: .relaxed)
        case .htmx: htmxEncodes.load(ordering: .relaxed)
        case .datastar: datastarEncodes.load(ordering: .relaxed)
        case .turbo: turboEncodes.load(ordering: .relaxed)
        }
    }

    /// Fraction of `/sse` requests that ended in an error: refused with 4xx/5xx, or opened and then cut by an
    /// error (slow consumer, failed replay), over all `/sse` requests. Probes and scrapes do not count; 0 before
    /// the first `/sse` request.
    var errorRate: Double {
        let total = streamRequests.load(ordering: .relaxed)
        guard total > 0 else { return 0 }
        let errors = rejectedStreamRequests.load(ordering: .relaxed) + streamErrors.load(ordering: .relaxed)
        return Double(errors) / Double(total)
    }

    var averageConnectionDurationSeconds: Double {
        let closed = closedConnections.load(ordering: .relaxed)
        guard closed > 0 else { return 0 }
        return Double(closedDurationMilliseconds.load(ordering: .relaxed)) / Double(closed) / 1000
    }

    var uptimeSeconds: Double {
        let elapsed = ContinuousClock.now - startedAt
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

/// A sliding window of (time, total) samples giving a recent rate.
struct RateWindow {
    private var samples: [(at: ContinuousClock.Instant, total: Int)] = []
    private let span: Duration = .seconds(10)

    mutating func add(total: Int, at now: ContinuousClock.Instant) {
        samples.append((now, total))
        while let first = samples.first, now - first.at > span { samples.removeFirst() }
    }

    var perSecond: Double {
        guard let first = samples.first, let last = samples.last, last.at > first.at else { return 0 }
        let elapsed = last.at - first.at
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(last.total - first.total) / seconds
    }
}
