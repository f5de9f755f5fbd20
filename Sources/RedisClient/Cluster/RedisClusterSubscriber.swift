import Logging
import NIOCore

/// Sharded pub/sub on a Redis Cluster: one subscriber link per primary that serves a subscribed channel's slot,
/// each a ``RedisSubscriber`` state machine in sharded mode (`SSUBSCRIBE` per slot, `smessage` pushes, reconnects
/// with backoff and jitter).
///
/// Where each channel lives follows the slot map of a ``RedisClusterClient``: after every read of the map (periodic,
/// or at once when Redis drops channels unasked or a link is lost) each channel the subscriber should hold is
/// checked against its slot's primary and moved when that changed. A moved channel is reported with
/// ``Event/resubscribed(channels:)`` once its new primary has confirmed it: the moment to backfill its topic from
/// history. All state lives on one event loop; `onEvent` runs there, in order, and must not block.
public final class RedisClusterSubscriber: Sendable {
    public enum Event: Sendable, Equatable {
        /// An `smessage`.
        case message(channel: String, payload: ByteBuffer)
        /// A link's first connection is up and its channels are confirmed.
        case shardConnected(address: String)
        /// A link was lost (or could not connect); it reconnects, and its channels move if their slots did.
        case shardDisconnected(address: String, RedisError)
        /// A lost link is back on the same primary with `channels` confirmed again: backfill them.
        case shardReconnected(address: String, channels: [String])
        /// Redis dropped these channels unasked (an unsolicited `sunsubscribe`: their slot moved, or the primary
        /// was demoted); the slot map is read at once and they are subscribed where they now live.
        case unsubscribedByServer(address: String, channels: [String])
        /// The channels are subscribed again, on the primary that now serves their slots: backfill them.
        case resubscribed(channels: [String])
    }

    public struct Options: Sendable {
        /// Reconnect backoff and health checks of each link.
        public var link = RedisSubscriber.Options()
        /// While a link is down, how often the slot map is read to see whether its channels moved.
        public var downLinkRefreshInterval: Duration = .milliseconds(200)
        /// Subscribe attempts per call before it fails (each after a fresh map when Redis redirected).
        public var maximumAttempts = 10

        public init() {}
    }

    public let cluster: RedisClusterClient
    public let eventLoop: any EventLoop
    public let options: Options
    let state: NIOLoopBoundBox<RedisClusterSubscriberState>
    private let linkStatuses = RedisLinkStatuses()

    /// Uses `cluster` for the slot map (and its seeds, credentials and timeouts for the links); call
    /// `cluster.start()` for periodic refreshes, whose maps this subscriber follows too.
    public init(
        cluster: RedisClusterClient, eventLoop: any EventLoop, options: Options = Options(),
        logger: Logger = Logger(label: "redis.cluster.subscriber"),
        onEvent: @escaping @Sendable (Event) -> Void
    ) {
        self.cluster = cluster
        self.eventLoop = eventLoop
        self.options = options
        let state = RedisClusterSubscriberState(
            cluster: cluster, eventLoop: eventLoop, options: options, logger: logger, linkStatuses: linkStatuses,
            onEvent: onEvent)
        self.state = NIOLoopBoundBox.makeBoxSendingValue(state, eventLoop: eventLoop)
        let box = self.state
        eventLoop.execute { box.value.start(box) }
    }

    /// Subscribes to shard channels; completes when each is confirmed by the primary serving its slot.
    public func subscribe(_ channels: [String]) async throws {
        var remaining = Set(channels)
        var attempt = 0
        while !remaining.isEmpty {
            attempt += 1
            let state = self.state
            let names = remaining
            let results = try await eventLoop.flatSubmit { state.value.subscribe(names) }.get()
            // Failed names (a redirect that the map had not caught up with) are tried again after a fresh map.
            remaining = []
            var lastError: RedisError?
            for (name, error) in results {
                remaining.insert(name)
                lastError = error
            }
            guard !remaining.isEmpty else { return }
            guard attempt < options.maximumAttempts, let lastError else {
                throw lastError ?? RedisError.protocolViolation("subscribe gave up")
            }
            try await Task.sleep(for: options.downLinkRefreshInterval)
            let map = try? await cluster.refreshSlotMap()
            try await eventLoop.submit { state.value.apply(map) }.get()
        }
    }

    public func unsubscribe(_ channels: [String]) async throws {
        let state = self.state
        try await eventLoop.flatSubmit { state.value.unsubscribe(Set(channels)) }.get()
    }

    /// The channels the subscriber holds, by primary address (channels between two primaries are left out).
    public func assignment() async -> [String: [String]] {
        let state = self.state
        return (try? await eventLoop.submit { state.value.assignmentByAddress() }.get()) ?? [:]
    }

    /// Every shard link open now (one per primary that holds a subscribed channel), by address; cheap, from any
    /// thread. Each probes itself on a shard channel of a slot its primary serves, when ``Options/link`` has a
    /// ``RedisSubscriber/Options/probeInterval``.
    public var links: [RedisLinkReport] { linkStatuses.reports }

    /// Closes every link and stops following the map.
    public func close() async {
        let state = self.state
        try? await eventLoop.flatSubmit { state.value.close() }.get()
    }
}
