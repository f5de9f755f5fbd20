import Logging
import NIOCore
import NIOEmbedded

@testable import RedisClient

/// Drives a ``RedisSubscriberState`` on an `EmbeddedEventLoop` and plays Redis by hand: each connect attempt waits
/// until the test accepts it (a ``RedisConnection`` over an `EmbeddedChannel`) or refuses it, commands are read as
/// the bytes the connection wrote, and replies and pushes are fed in as RESP bytes. Time moves only when the test
/// advances it, so backoff delays and health-check intervals are checked to the millisecond.
///
/// Not thread-safe, like the loop it owns: a test uses it from its own thread only (synchronous tests).
final class SubscriberHarness {
    static let configuration = RedisConfiguration(endpoint: .tcp(host: "redis.test", port: 6379))
    static let closed = RedisError.connectionClosed(address: "redis.test:6379")
    static let refused = RedisError.connectionRefused(address: "redis.test:6379")

    let loop = EmbeddedEventLoop()
    private let quiet: Logger = {
        var logger = Logger(label: "redis.test")
        logger.logLevel = .critical
        return logger
    }()
    let log = EventLog()
    private(set) var state: RedisSubscriberState!
    /// Connect attempts not answered yet, oldest first.
    private var pending: [(promise: EventLoopPromise<RedisConnection>, onPush: @Sendable (RedisReply) -> Void)] = []
    /// When each connect attempt was made, in milliseconds of loop time.
    private(set) var attemptTimes: [Int64] = []
    /// Every connection accepted so far; the last one is the current connection.
    private(set) var connections: [EmbeddedChannel] = []
    /// Sharded mode: the channels Redis dropped unasked, per report.
    private(set) var droppedByServer: [[String]] = []
    /// With probing: every probe (command) connection opened so far, each accepted at once; the last is current.
    private(set) var probeConnections: [EmbeddedChannel] = []
    /// With `holdProbeConnects`: probe connect attempts the test has not answered yet.
    var heldProbeConnects: [EventLoopPromise<RedisConnection>] = []

    /// - Parameter jitter: picks the random half of a backoff delay; nil keeps the production random choice.
    init(
        initialBackoff: Duration = .milliseconds(100), maximumBackoff: Duration = .milliseconds(800),
        healthCheckInterval: Duration = .seconds(10), jitter: ((ClosedRange<Int64>) -> Int64)? = nil,
        sharded: Bool = false, probeInterval: Duration? = nil, probeTimeout: Duration = .seconds(3),
        holdProbeConnects: Bool = false
    ) {
        var options = RedisSubscriber.Options()
        options.initialBackoff = initialBackoff
        options.maximumBackoff = maximumBackoff
        options.healthCheckInterval = healthCheckInterval
        let log = self.log
        if let probeInterval {
            options.probeInterval = probeInterval
            options.probeTimeout = probeTimeout
            let probeConnect: RedisSubscriberState.ProbeConnect = { [unowned self] in
                guard holdProbeConnects else { return loop.makeCompletedFuture { try acceptProbeConnection() } }
                let promise = loop.makePromise(of: RedisConnection.self)
                heldProbeConnects.append(promise)
                return promise.futureResult
            }
            state = RedisSubscriberState(
                address: Self.configuration.address, eventLoop: loop, options: options, logger: quiet,
                onEvent: { log.append($0) },
                connect: { [unowned self] onPush in
                    let promise = loop.makePromise(of: RedisConnection.self)
                    pending.append((promise, onPush))
                    attemptTimes.append(milliseconds)
                    return promise.futureResult
                }, jitter: jitter ?? { Int64.random(in: $0) }, sharded: sharded,
                onServerUnsubscribe: { [unowned self] in droppedByServer.append($0) }, probeConnect: probeConnect)
            return
        }
        let connect: RedisSubscriberState.Connect = { [unowned self] onPush in
            let promise = loop.makePromise(of: RedisConnection.self)
            pending.append((promise, onPush))
            attemptTimes.append(milliseconds)
            return promise.futureResult
        }
        // Outages are what these tests are made of; their warnings would only bury a failure's output.
        var logger = quiet
        if sharded {
            state = RedisSubscriberState(
                address: Self.configuration.address, eventLoop: loop, options: options, logger: logger,
                onEvent: { log.append($0) }, connect: connect, jitter: jitter ?? { Int64.random(in: $0) },
                sharded: true,
                onServerUnsubscribe: { [unowned self] in droppedByServer.append($0) })
        } else if let jitter {
            state = RedisSubscriberState(
                address: Self.configuration.address, eventLoop: loop, options: options, logger: logger,
                onEvent: { log.append($0) }, connect: connect, jitter: jitter)
        } else {
            state = RedisSubscriberState(
                address: Self.configuration.address, eventLoop: loop, options: options, logger: logger,
                onEvent: { log.append($0) }, connect: connect)
        }
    }

    /// Loop time in milliseconds since the loop was made.
    var milliseconds: Int64 { Int64(loop.now.uptimeNanoseconds / 1_000_000) }
    var pendingAttempts: Int { pending.count }
    var current: EmbeddedChannel { connections[connections.count - 1] }

    /// Runs `body` on a fresh harness, then closes the subscriber and every channel and shuts the loop down, so no
    /// promise or scheduled task outlives the test (NIO traps on both in debug builds).
    static func run(
        initialBackoff: Duration = .milliseconds(100), maximumBackoff: Duration = .milliseconds(800),
        healthCheckInterval: Duration = .seconds(10), jitter: ((ClosedRange<Int64>) -> Int64)? = nil,
        sharded: Bool = false, probeInterval: Duration? = nil, probeTimeout: Duration = .seconds(3),
        holdProbeConnects: Bool = false, _ body: (SubscriberHarness) throws -> Void
    ) throws {
        let harness = SubscriberHarness(
            initialBackoff: initialBackoff, maximumBackoff: maximumBackoff, healthCheckInterval: healthCheckInterval,
            jitter: jitter, sharded: sharded, probeInterval: probeInterval, probeTimeout: probeTimeout,
            holdProbeConnects: holdProbeConnects)
        defer { harness.tearDown() }
        try body(harness)
    }

    private func tearDown() {
        _ = state.close()
        for attempt in pending { attempt.promise.fail(Self.closed) }
        pending.removeAll()
        for promise in heldProbeConnects { promise.fail(Self.closed) }
        heldProbeConnects.removeAll()
        loop.run()
        for channel in connections + probeConnections { channel.close(promise: nil) }
        loop.run()
        try? loop.syncShutdownGracefully()
        state = nil
    }

    // MARK: Connecting

    /// Answers the oldest connect attempt with a connection over a new `EmbeddedChannel`.
    @discardableResult
    func accept() throws -> EmbeddedChannel {
        let attempt = pending.removeFirst()
        let handler = RedisChannelHandler(
            address: Self.configuration.address, logger: quiet, onPush: attempt.onPush)
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(handler)
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 6379), promise: nil)
        connections.append(channel)
        attempt.promise.succeed(
            RedisConnection(
                configuration: Self.configuration, channel: channel, handler: NIOLoopBound(handler, eventLoop: loop)))
        loop.run()
        return channel
    }

    /// A probe connection over a new `EmbeddedChannel` (no pushes: it only publishes).
    /// Answers the oldest held probe connect with a probe connection (see `holdProbeConnects`).
    func acceptHeldProbeConnect() throws {
        heldProbeConnects.removeFirst().succeed(try acceptProbeConnection())
        loop.run()
    }

    private func acceptProbeConnection() throws -> RedisConnection {
        let handler = RedisChannelHandler(address: Self.configuration.address, logger: quiet, onPush: nil)
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(handler)
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 6379), promise: nil)
        probeConnections.append(channel)
        return RedisConnection(
            configuration: Self.configuration, channel: channel, handler: NIOLoopBound(handler, eventLoop: loop))
    }

    /// Fails the oldest connect attempt as a refused connection.
    func refuse() {
        pending.removeFirst().promise.fail(Self.refused)
        loop.run()
    }

    /// Advances loop time to `target` milliseconds (running what falls due on the way).
    func advance(toMilliseconds target: Int64) {
        loop.advanceTime(to: .uptimeNanoseconds(UInt64(target) * 1_000_000))
    }

    // MARK: Requests

    /// Makes a request through the state machine; the returned box records how its future completed.
    ///
    /// - Parameters:
    ///   - runLoop: false for a request made from inside a callback, while the loop is already running.
    ///   - then: runs in the future's callback, right after the outcome is recorded (as a caller chaining on it).
    func request(
        _ kind: SubscriptionKind, _ names: [String], runLoop: Bool = true, then: (() -> Void)? = nil
    ) -> Outcome {
        let outcome = Outcome()
        let promise = loop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { result in
            outcome.result = result
            then?()
        }
        state.request(kind, names, promise: promise)
        if runLoop { loop.run() }
        return outcome
    }

    // MARK: The wire

    /// Everything the connection wrote since the last call, as text.
    func written(on channel: EmbeddedChannel? = nil) throws -> String {
        loop.run()
        let channel = channel ?? current
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    /// Feeds raw RESP bytes in, as if Redis had sent them.
    func receive(_ resp: String, on channel: EmbeddedChannel? = nil) throws {
        try (channel ?? current).writeInbound(ByteBuffer(string: resp))
        loop.run()
    }

    /// Feeds in the confirmations Redis sends for `kind` (`subscribe`, `psubscribe`, …), one per name, in one read.
    func confirm(_ kind: String, _ names: [String], on channel: EmbeddedChannel? = nil) throws {
        try receive(names.map { RESP.confirmation(kind, $0) }.joined(), on: channel)
    }
}

/// How a request's future completed, if it did.
final class Outcome {
    var result: Result<Void, any Error>?

    var succeeded: Bool { if case .success = result { true } else { false } }
    var failure: RedisError? { if case .failure(let error) = result { error as? RedisError } else { nil } }
}

/// RESP2 text as Redis writes it, for building expected commands and fed-in pushes.
enum RESP {
    /// A multi-bulk of bulk strings: `*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n` for `array("SUBSCRIBE", "a")`.
    static func array(_ parts: String...) -> String { array(parts) }

    static func array(_ parts: [String]) -> String {
        "*\(parts.count)\r\n" + parts.map(bulk).joined()
    }

    static func bulk(_ text: String) -> String { "$\(text.utf8.count)\r\n\(text)\r\n" }

    /// A confirmation push: kind, name and the subscription count (which the subscriber ignores).
    static func confirmation(_ kind: String, _ name: String, count: Int = 1) -> String {
        "*3\r\n" + bulk(kind) + bulk(name) + ":\(count)\r\n"
    }
}
