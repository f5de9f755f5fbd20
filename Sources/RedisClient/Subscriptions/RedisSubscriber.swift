import Logging
import NIOCore

/// A pub/sub subscriber on one dedicated connection that survives Redis restarts.
///
/// The subscriber remembers the set of channels and patterns it should hold. Whenever the connection drops it
/// reports ``Event/disconnected(_:)``, reconnects with exponential backoff and jitter, subscribes to the whole set
/// again, and reports ``Event/reconnected`` once Redis has confirmed every subscription — the moment a caller can
/// backfill from history without a gap.
///
/// All state lives on one event loop; `onEvent` is called there, in Redis's order, and must not block.
public final class RedisSubscriber: Sendable {
    public enum Event: Sendable, Equatable {
        case message(channel: String, payload: ByteBuffer)
        case patternMessage(pattern: String, channel: String, payload: ByteBuffer)
        /// The first connection is up and every subscription requested so far is confirmed.
        case connected
        /// The connection was lost (or a connect attempt failed while none was up); reconnecting follows.
        case disconnected(RedisError)
        /// A new connection is up and every subscription is confirmed again.
        case reconnected
    }

    public struct Options: Sendable {
        /// First reconnect delay; it doubles per failed attempt up to `maximumBackoff`, with jitter.
        public var initialBackoff: Duration = .milliseconds(50)
        public var maximumBackoff: Duration = .seconds(5)
        /// How often an idle connection is PINGed; no bytes for twice this long and the connection is replaced.
        public var healthCheckInterval: Duration = .seconds(10)
        /// How often the link publishes a probe to itself and expects it back (``RedisLinkReport``); zero (the
        /// default here; the gateway's `SSE_REDIS_PROBE_INTERVAL_MS` sets it) turns probing off. Each probe costs
        /// one publish on the server and a second, command connection per link. It needs a way to publish to the
        /// link's own server: ``RedisSubscriber/init(connector:eventLoop:options:logger:onEvent:)`` and
        /// ``RedisClusterSubscriber`` have one.
        public var probeInterval: Duration = .zero
        /// A probe not back within this long (or whose publish fails, or reaches no subscriber) fails: the link's
        /// connection is closed and it reconnects with the backoff above, then resubscribes.
        public var probeTimeout: Duration = .seconds(3)

        public init() {}
    }

    /// What logs and errors name: the server's address, or the Sentinel master and its sentinels.
    public let address: String
    public let eventLoop: any EventLoop
    let state: NIOLoopBoundBox<RedisSubscriberState>
    private let status: RedisLinkStatus

    /// A subscriber on one server.
    public convenience init(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop,
        options: Options = Options(),
        logger: Logger = Logger(label: "redis.subscriber"),
        onEvent: @escaping @Sendable (Event) -> Void
    ) {
        self.init(
            connector: RedisConnector(configuration: configuration), eventLoop: eventLoop, options: options,
            logger: logger, onEvent: onEvent)
    }

    /// A subscriber that connects, and reconnects, wherever `connector` points: on a Sentinel group, the master of
    /// the moment (a `+switch-master` closes the connection, so it resubscribes on the new master at once).
    public convenience init(
        connector: RedisConnector,
        eventLoop: any EventLoop,
        options: Options = Options(),
        logger: Logger = Logger(label: "redis.subscriber"),
        onEvent: @escaping @Sendable (Event) -> Void
    ) {
        self.init(
            address: connector.address, eventLoop: eventLoop, options: options, logger: logger,
            connect: { onPush in connector.connectFuture(eventLoop: eventLoop, logger: logger, onPush: onPush) },
            probeConnect: { connector.connectFuture(eventLoop: eventLoop, logger: logger) },
            onEvent: onEvent)
    }

    /// A subscriber whose connections come from `connect` (the Sentinel watch connects to sentinels in turn).
    init(
        address: String, eventLoop: any EventLoop, options: Options, logger: Logger,
        connect:
            @escaping @Sendable (_ onPush: @escaping @Sendable (RedisReply) -> Void) -> EventLoopFuture<
                RedisConnection
            >,
        probeConnect: (@Sendable () -> EventLoopFuture<RedisConnection>)? = nil,
        onEvent: @escaping @Sendable (Event) -> Void
    ) {
        self.address = address
        self.eventLoop = eventLoop
        let status = RedisLinkStatus(address: address)
        self.status = status
        let state = RedisSubscriberState(
            address: address, eventLoop: eventLoop, options: options, logger: logger, onEvent: onEvent,
            connect: { onPush in connect(onPush) }, probeConnect: probeConnect.map { probe in { probe() } },
            status: status)
        self.state = NIOLoopBoundBox.makeBoxSendingValue(state, eventLoop: eventLoop)
    }

    /// Starts connecting; events follow through `onEvent`.
    public func start() {
        onLoop { $0.start() }
    }

    /// Subscribes to channels; completes when Redis has confirmed all of them (after a reconnect if need be).
    public func subscribe(_ channels: [String]) async throws {
        try await request(.subscribe, channels)
    }

    public func unsubscribe(_ channels: [String]) async throws {
        try await request(.unsubscribe, channels)
    }

    /// Subscribes to glob-style patterns (`PSUBSCRIBE`); matches arrive as ``Event/patternMessage(pattern:channel:payload:)``.
    public func psubscribe(_ patterns: [String]) async throws {
        try await request(.psubscribe, patterns)
    }

    public func punsubscribe(_ patterns: [String]) async throws {
        try await request(.punsubscribe, patterns)
    }

    /// The future form of the subscription calls.
    public func requestFuture(_ kind: SubscriptionKind, _ names: [String]) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        onLoop { $0.request(kind, names, promise: promise) }
        return promise.futureResult
    }

    private func request(_ kind: SubscriptionKind, _ names: [String]) async throws {
        try await RedisConnection.redisResult(requestFuture(kind, names))
    }

    /// The channels and patterns the subscriber holds (or will hold again after a reconnect).
    public func subscriptions() async -> (channels: Set<String>, patterns: Set<String>) {
        let state = self.state
        return (try? await eventLoop.submit { (state.value.channels, state.value.patterns) }.get()) ?? ([], [])
    }

    /// The subscriber's one link, as it stands now; cheap, from any thread.
    public var links: [RedisLinkReport] { [status.snapshot] }

    /// Stops for good: closes the connection, cancels reconnects, fails waiting requests.
    public func close() async {
        let state = self.state
        try? await eventLoop.flatSubmit { state.value.close() }.get()
    }

    private func onLoop(_ body: @escaping @Sendable (RedisSubscriberState) -> Void) {
        if eventLoop.inEventLoop {
            body(state.value)
        } else {
            let state = self.state
            eventLoop.execute { body(state.value) }
        }
    }
}

extension RedisSubscriber.Options {
    /// The reconnect delay after `step` earlier ones in the same outage: `initialBackoff` doubled `step` times, at
    /// most `maximumBackoff`, with "equal jitter" (half fixed, half picked by `jitter` from `0...half`, at random in
    /// production) so reconnecting nodes spread out.
    func backoff(step: Int, jitter: (ClosedRange<Int64>) -> Int64) -> TimeAmount {
        let delay = min(maximumBackoff.milliseconds, initialBackoff.milliseconds << min(step, 20))
        let half = delay / 2
        return .milliseconds(half + jitter(0...max(half, 1)))
    }
}

/// The subscription commands: classic channels, patterns, and (Redis 7, Cluster) shard channels.
public enum SubscriptionKind: String, Sendable {
    case subscribe = "SUBSCRIBE"
    case unsubscribe = "UNSUBSCRIBE"
    case psubscribe = "PSUBSCRIBE"
    case punsubscribe = "PUNSUBSCRIBE"
    case ssubscribe = "SSUBSCRIBE"
    case sunsubscribe = "SUNSUBSCRIBE"

    /// The kind named by a confirmation push (`subscribe`, `unsubscribe`, …).
    init?(push: ByteBuffer) {
        switch String(buffer: push) {
        case "subscribe": self = .subscribe
        case "unsubscribe": self = .unsubscribe
        case "psubscribe": self = .psubscribe
        case "punsubscribe": self = .punsubscribe
        case "ssubscribe": self = .ssubscribe
        case "sunsubscribe": self = .sunsubscribe
        default: return nil
        }
    }

    var isPattern: Bool { self == .psubscribe || self == .punsubscribe }
    var adds: Bool { self == .subscribe || self == .psubscribe || self == .ssubscribe }
    /// Shard channels: one command may only name channels of one slot.
    var isSharded: Bool { self == .ssubscribe || self == .sunsubscribe }
}
