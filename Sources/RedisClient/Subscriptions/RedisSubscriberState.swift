import Logging
import NIOCore

/// The loop-confined state machine behind ``RedisSubscriber``.
///
/// Its hot stored properties are `@exclusivity(unchecked)`: they are only touched on its event loop, one access at
/// a time, so the dynamic exclusivity checks guard nothing and cost a few percent of the loop on the hot path.
///
/// Time is read from the event loop (`eventLoop.now`, the wall clock on a real loop) and connections come from the
/// `connect` closure, so unit tests drive it on an `EmbeddedEventLoop` with connections over `EmbeddedChannel`s.
final class RedisSubscriberState {
    /// Opens one connection whose pub/sub pushes go to `onPush`; ``RedisSubscriber`` passes
    /// ``RedisConnection/connectFuture(configuration:eventLoop:logger:onPush:)``.
    typealias Connect = (_ onPush: @escaping @Sendable (RedisReply) -> Void) -> EventLoopFuture<RedisConnection>
    /// Opens a command connection to the server the link is on (or, on a Sentinel group, the current master), for
    /// publishing probes: a RESP2 subscribed connection cannot publish.
    typealias ProbeConnect = () -> EventLoopFuture<RedisConnection>

    enum Phase {
        case idle
        case connecting
        /// Connected; `restoring` holds the confirmations still awaited before the connection counts as complete.
        case connected(RedisConnection, restoring: Set<Confirmation>)
        case waitingToReconnect(Scheduled<Void>)
        case closed
    }

    struct Confirmation: Hashable {
        var kind: SubscriptionKind
        var name: String
    }

    /// A subscription request waiting for Redis to confirm each of its names, in command order.
    private final class Request {
        let kind: SubscriptionKind
        var waiting: Set<String>
        let promise: EventLoopPromise<Void>

        init(kind: SubscriptionKind, waiting: Set<String>, promise: EventLoopPromise<Void>) {
            self.kind = kind
            self.waiting = waiting
            self.promise = promise
        }
    }

    /// What logs and errors name: the server's address, or the Sentinel master and its sentinels.
    let address: String
    let eventLoop: any EventLoop
    let options: RedisSubscriber.Options
    let logger: Logger
    let onEvent: @Sendable (RedisSubscriber.Event) -> Void
    private let openConnection: Connect
    /// Picks the random half of a backoff delay in milliseconds; tests pin it to check exact schedules.
    private let jitter: (ClosedRange<Int64>) -> Int64
    /// A shard link of ``RedisClusterSubscriber``: `channels` are shard channels (`SSUBSCRIBE`, one command per
    /// slot), and Redis may drop them unasked (a slot moved, the primary was demoted).
    let sharded: Bool
    /// Sharded only: channels Redis dropped unasked (an unsolicited `sunsubscribe`, or `MOVED` for a restore);
    /// they are no longer in `channels`.
    private let onServerUnsubscribe: (([String]) -> Void)?
    /// What ``RedisSubscriber/links`` and ``RedisClusterSubscriber/links`` report for this link.
    let status: RedisLinkStatus
    /// The end-to-end probe (``RedisSubscriber/Options/probeInterval``); nil when probing is off.
    let probe: LinkProbe?
    /// Sharded only: the probe channel's slot left this primary (an unsolicited `sunsubscribe`, a `MOVED`); the
    /// owner reads the slot map and gives the link a new channel with ``setProbeChannel(_:)``.
    var onProbeChannelLost: (() -> Void)?

    private(set) var channels: Set<String> = []
    private(set) var patterns: Set<String> = []
    @exclusivity(unchecked) var phase: Phase = .idle
    private var requests: [Request] = []
    private var everConnected = false
    private var failedAttempts = 0
    /// Reconnect delays scheduled since the last connection came up: the next one is `initialBackoff` doubled this
    /// many times (capped), whether the outage began with a lost connection or a failed first connect.
    private var delaysSinceConnected = 0
    private var reportedOutage = false
    @exclusivity(unchecked) private var lastActivity: NIODeadline
    private var healthCheck: RepeatedTask?

    init(
        address: String, eventLoop: any EventLoop, options: RedisSubscriber.Options, logger: Logger,
        onEvent: @escaping @Sendable (RedisSubscriber.Event) -> Void,
        connect: @escaping Connect,
        jitter: @escaping (ClosedRange<Int64>) -> Int64 = { Int64.random(in: $0) },
        sharded: Bool = false, onServerUnsubscribe: (([String]) -> Void)? = nil,
        probeConnect: ProbeConnect? = nil, status: RedisLinkStatus? = nil
    ) {
        self.address = address
        self.status = status ?? RedisLinkStatus(address: address)
        if let probeConnect, options.probeInterval > .zero {
            probe = LinkProbe(connect: probeConnect, channel: sharded ? nil : LinkProbe.classicChannel())
        } else {
            probe = nil
        }
        self.sharded = sharded
        self.onServerUnsubscribe = onServerUnsubscribe
        self.eventLoop = eventLoop
        self.options = options
        self.logger = logger
        self.onEvent = onEvent
        self.openConnection = connect
        self.jitter = jitter
        self.lastActivity = eventLoop.now
    }

    func start() {
        guard case .idle = phase else { return }
        status.setProbeChannel(probe?.channel)
        connect()
        startProbing()
        let interval = TimeAmount.milliseconds(options.healthCheckInterval.milliseconds)
        let state = NIOLoopBound(self, eventLoop: eventLoop)
        healthCheck = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            state.value.checkHealth(interval: interval)
        }
    }

    // MARK: Requests

    func request(_ kind: SubscriptionKind, _ names: [String], promise: EventLoopPromise<Void>) {
        if case .closed = phase {
            promise.fail(RedisError.connectionClosed(address: address))
            return
        }
        let unique = Set(names)
        guard !unique.isEmpty else {
            promise.succeed(())
            return
        }
        switch kind {
        case .subscribe, .ssubscribe: channels.formUnion(unique)
        case .unsubscribe, .sunsubscribe: channels.subtract(unique)
        case .psubscribe: patterns.formUnion(unique)
        case .punsubscribe: patterns.subtract(unique)
        }
        guard case .connected(let connection, _) = phase else {
            // Not connected: removals are already true; additions are confirmed when the set is restored.
            if kind.adds {
                requests.append(Request(kind: kind, waiting: unique, promise: promise))
            } else {
                promise.succeed(())
            }
            return
        }
        requests.append(Request(kind: kind, waiting: unique, promise: promise))
        // Each name once: Redis confirms every argument, and a second confirmation of a name would complete the
        // next request waiting for it before Redis has read that request.
        var seen = Set<String>()
        let arguments = unique.count == names.count ? names : names.filter { seen.insert($0).inserted }
        if kind.isSharded {
            for group in Self.bySlot(arguments) {
                connection.sendWithoutReply(RedisCommand(kind.rawValue, arguments: group))
            }
        } else {
            connection.sendWithoutReply(RedisCommand(kind.rawValue, arguments: arguments))
        }
    }

    /// Shard channels grouped by slot, slots ascending, names in their given order within a slot.
    static func bySlot(_ names: [String]) -> [[String]] {
        Dictionary(grouping: names) { HashSlot(key: $0) }.sorted { $0.key < $1.key }.map(\.value)
    }

    // MARK: Connection lifecycle

    private func connect() {
        phase = .connecting
        let future = openConnection { [state = NIOLoopBound(self, eventLoop: eventLoop)] reply in
            state.value.handlePush(reply)
        }
        future.hop(to: eventLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let connection): connected(connection)
            case .failure(let error): connectFailed(error as? RedisError ?? .protocolViolation("\(error)"))
            }
        }
    }

    private func connected(_ connection: RedisConnection) {
        guard case .connecting = phase else {
            connection.closeNow()
            return
        }
        failedAttempts = 0
        delaysSinceConnected = 0
        reportedOutage = false
        lastActivity = eventLoop.now
        var restoring = Set<Confirmation>()
        if !channels.isEmpty && sharded {
            for group in Self.bySlot(channels.sorted()) {
                connection.sendWithoutReply(RedisCommand("SSUBSCRIBE", arguments: group))
            }
            restoring.formUnion(channels.map { Confirmation(kind: .ssubscribe, name: $0) })
        } else if !channels.isEmpty {
            connection.sendWithoutReply(RedisCommand("SUBSCRIBE", arguments: channels.sorted()))
            restoring.formUnion(channels.map { Confirmation(kind: .subscribe, name: $0) })
        }
        if !patterns.isEmpty {
            connection.sendWithoutReply(RedisCommand("PSUBSCRIBE", arguments: patterns.sorted()))
            restoring.formUnion(patterns.map { Confirmation(kind: .psubscribe, name: $0) })
        }
        subscribeProbeChannel(on: connection)
        // Requests made while disconnected are answered by the restore; removals made meanwhile are moot, and so
        // are the names of additions undone meanwhile: the restore does not hold them, so no confirmation comes.
        completeRequests { request in
            guard request.kind.adds else { return true }
            request.waiting.formIntersection(request.kind.isPattern ? patterns : channels)
            return request.waiting.isEmpty
        }
        phase = .connected(connection, restoring: restoring)
        logger.info(
            everConnected ? "Redis subscriber reconnected" : "Redis subscriber connected",
            metadata: ["redis.address": "\(address)", "redis.subscriptions": "\(restoring.count)"])
        connection.closeFuture.hop(to: eventLoop).assumeIsolated().whenComplete { [self] _ in
            connectionClosed(connection)
        }
        if restoring.isEmpty { restored() }
    }

    private func restored() {
        status.setUp(true)
        if everConnected {
            onEvent(.reconnected)
        } else {
            everConnected = true
            onEvent(.connected)
        }
    }

    private func connectFailed(_ error: RedisError) {
        guard case .connecting = phase else { return }
        failedAttempts += 1
        logger.warning(
            "Redis subscriber cannot connect",
            metadata: [
                "redis.address": "\(address)", "error": "\(error)", "attempt": "\(failedAttempts)",
            ])
        if !reportedOutage {
            reportedOutage = true
            onEvent(.disconnected(error))
        }
        scheduleReconnect()
    }

    private func connectionClosed(_ connection: RedisConnection) {
        guard case .connected(let current, _) = phase, current === connection else { return }
        let error = RedisError.connectionClosed(address: address)
        logger.warning("Redis subscriber lost its connection", metadata: ["redis.address": "\(address)"])
        reportedOutage = true
        status.setUp(false)
        probeConnectionLost()
        // The unsubscribes in flight are done: the connection that held them is gone.
        completeRequests { !$0.kind.adds }
        onEvent(.disconnected(error))
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        let delay = options.backoff(step: delaysSinceConnected, jitter: jitter)
        delaysSinceConnected += 1
        let task = eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            if case .waitingToReconnect = phase { connect() }
        }
        phase = .waitingToReconnect(task)
    }

    func close() -> EventLoopFuture<Void> {
        healthCheck?.cancel()
        healthCheck = nil
        stopProbing()
        status.setUp(false)
        let previous = phase
        phase = .closed
        let error = RedisError.connectionClosed(address: address)
        for request in requests { request.promise.fail(error) }
        requests.removeAll()
        switch previous {
        case .connected(let connection, _):
            connection.closeNow()
            return connection.closeFuture
        case .waitingToReconnect(let task):
            task.cancel()
        case .idle, .connecting, .closed:
            break
        }
        return eventLoop.makeSucceededVoidFuture()
    }

    private func checkHealth(interval: TimeAmount) {
        guard case .connected(let connection, _) = phase else { return }
        if eventLoop.now - lastActivity > interval * 2 {
            logger.warning(
                "Redis subscriber connection silent, replacing it",
                metadata: ["redis.address": "\(address)"])
            connection.closeNow()
        } else {
            connection.sendWithoutReply(RedisCommand("PING"))
        }
    }

    /// Takes out the requests `isDone` picks, then succeeds them: a caller's callback that makes a new request
    /// runs inside `succeed`, and must find `requests` settled rather than in the middle of a mutation.
    private func completeRequests(where isDone: (Request) -> Bool) {
        var done: [Request] = []
        requests.removeAll { request in
            guard isDone(request) else { return false }
            done.append(request)
            return true
        }
        for request in done { request.promise.succeed(()) }
    }

    // MARK: Pushes

    func handlePush(_ reply: RedisReply) {
        lastActivity = eventLoop.now
        if case .error(let message) = reply {
            refused(message)
            return
        }
        guard case .array(let parts) = reply, case .bulk(let kind)? = parts.first else { return }
        switch (kind.readableBytes, parts.count) {
        case (7, 3), (8, 3):  // message or smessage, channel, payload
            guard case .bulk(let channel) = parts[1], case .bulk(let payload) = parts[2] else { return }
            let name = String(buffer: channel)
            // A probe is this link's own business: it never reaches the caller.
            if let probe, name == probe.channel || (!probe.retired.isEmpty && probe.retired.contains(name)) {
                probeReturned(payload)
                return
            }
            status.messageReceived()
            onEvent(.message(channel: name, payload: payload))
        case (8, 4):  // pmessage, pattern, channel, payload
            guard case .bulk(let pattern) = parts[1], case .bulk(let channel) = parts[2],
                case .bulk(let payload) = parts[3]
            else { return }
            onEvent(
                .patternMessage(pattern: String(buffer: pattern), channel: String(buffer: channel), payload: payload))
        case (4, _):
            break  // pong: liveness only
        default:
            guard let confirmed = SubscriptionKind(push: kind), parts.count >= 2, case .bulk(let name) = parts[1] else {
                return
            }
            confirm(confirmed, String(buffer: name))
        }
    }

    private func confirm(_ kind: SubscriptionKind, _ name: String) {
        if probe != nil, probeConfirmed(kind, name) { return }
        if sharded, kind == .sunsubscribe, channels.contains(name),
            !requests.contains(where: { $0.kind == .sunsubscribe && $0.waiting.contains(name) })
        {
            // Unasked: the slot left this primary.
            channels.remove(name)
            onServerUnsubscribe?([name])
            return
        }
        var restores = false
        if case .connected(let connection, var restoring) = phase, !restoring.isEmpty {
            if restoring.remove(Confirmation(kind: kind, name: name)) != nil {
                restores = true
                phase = .connected(connection, restoring: restoring)
                if restoring.isEmpty { restored() }
            }
        }
        // Redis answers in command order, so the first request of this kind still waiting for the name is its owner;
        // the restore sends each name once, so its confirmation answers every request that waited for the name.
        var answered = false
        for request in requests where request.kind == kind {
            guard request.waiting.remove(name) != nil else { continue }
            answered = true
            if !restores { break }
        }
        if answered { completeRequests { $0.waiting.isEmpty } }
    }

    /// An error reply to a subscription command. On a shard link, `MOVED` for a slot means this primary no longer
    /// serves it: its channels are dropped, requests waiting for them fail with the error (their caller routes them
    /// again) and the rest are reported through `onServerUnsubscribe`. Any other error closes the connection, so
    /// the reconnect restores the whole set.
    private func refused(_ message: String) {
        guard case .connected(let connection, var restoring) = phase else { return }
        guard sharded, let redirect = ClusterRedirect(errorMessage: message) else {
            logger.warning(
                "Redis refused a subscription command, reconnecting",
                metadata: ["redis.address": "\(address)", "error": "\(message)"])
            connection.closeNow()
            return
        }
        probeSlotRedirected(redirect.slot)
        let dropped = channels.filter { HashSlot(key: $0) == redirect.slot }
        channels.subtract(dropped)
        let error = RedisError.server(message: message)
        var failed: [Request] = []
        requests.removeAll { request in
            guard request.kind == .ssubscribe, !request.waiting.isDisjoint(with: dropped) else { return false }
            failed.append(request)
            return true
        }
        let requested = failed.reduce(into: Set<String>()) { $0.formUnion($1.waiting) }
        let before = restoring.count
        restoring = restoring.filter { !dropped.contains($0.name) }
        phase = .connected(connection, restoring: restoring)
        for request in failed { request.promise.fail(error) }
        let unasked = dropped.subtracting(requested)
        if !unasked.isEmpty { onServerUnsubscribe?(unasked.sorted()) }
        if before > 0 && restoring.isEmpty { restored() }
    }
}
