import Logging
import NIOCore
import RedisClient

/// The subscriber comparison: redis-benchmark publishes `requests` messages to one channel while a single subscriber
/// peer — our ``RedisSubscriber`` or `redis-cli subscribe` — receives them.
///
/// The peer's rate is messages received divided by the time from its first to its last message. When the peer keeps
/// up, that equals the publish rate; when it falls behind, Redis buffers the backlog (the server runs with an
/// unlimited pub/sub output buffer) and the rate is the peer's own decode speed.
struct SubscribeBenchmark: Sendable {
    let configuration: RedisConfiguration
    let group: any EventLoopGroup
    let settings: BenchmarkSettings
    let tool: RedisBenchmarkTool

    /// How long a peer may take to connect and confirm its subscription.
    static let subscribeLimit: Duration = .seconds(10)

    /// Warnings only: the subscriber's "connected" info line would land in the middle of the report on stdout.
    static let logger: Logger = {
        var logger = Logger(label: "redis-bench.subscriber")
        logger.logLevel = .warning
        return logger
    }()

    /// One round with our ``RedisSubscriber`` as the only subscriber.
    func runOurs() async throws -> SubscribeRound {
        let tally = MessageTally()
        let payloadBytes = settings.payloadBytes
        let subscriber = RedisSubscriber(configuration: configuration, eventLoop: group.next(), logger: Self.logger) {
            event in
            switch event {
            case .message(_, let payload):
                if payload.readableBytes != payloadBytes { tally.recordWrongSize() }
                tally.record()
            case .connected:
                tally.markSubscribed()
            case .disconnected:
                tally.markDisconnected()
            case .reconnected, .patternMessage:
                break
            }
        }
        subscriber.start()
        do {
            // Not awaited directly: with Redis unreachable the request would wait through endless reconnects.
            let confirmed = subscriber.requestFuture(.subscribe, [settings.subscribeChannel])
            try await tally.waitUntilSubscribed(peer: "our RedisSubscriber", limit: Self.subscribeLimit)
            try await confirmed.get()
            let round = try await measure(tally)
            await subscriber.close()
            return round
        } catch {
            await subscriber.close()
            throw error
        }
    }

    /// One round with `redis-cli subscribe` as the only subscriber.
    func runRedisCLI() async throws -> SubscribeRound {
        let peer = try RedisCLISubscriber(
            connectionArguments: tool.connectionArguments, channel: settings.subscribeChannel)
        do {
            try await peer.tally.waitUntilSubscribed(peer: "redis-cli subscribe", limit: Self.subscribeLimit)
            let round = try await measure(peer.tally)
            await peer.stop()
            return round
        } catch {
            await peer.stop()
            throw error
        }
    }

    /// Publishes with redis-benchmark, then waits (bounded) for the subscribed peer to receive everything.
    private func measure(_ tally: MessageTally) async throws -> SubscribeRound {
        let publishRate = try await tool.publish(channel: settings.subscribeChannel, settings: settings)
        try await tally.waitForMessages(
            settings.requests, idleLimit: settings.drainIdleTimeout, limit: settings.phaseTimeout)
        let received = tally.count
        return SubscribeRound(
            publishRequestsPerSecond: publishRate, messagesPerSecond: tally.messagesPerSecond, received: received,
            lost: max(0, settings.requests - received), disconnects: tally.disconnectCount,
            wrongSizes: tally.wrongSizeCount)
    }
}

/// What one subscriber round measured.
struct SubscribeRound: Sendable {
    /// redis-benchmark's own PUBLISH requests/s with this peer subscribed.
    var publishRequestsPerSecond: Double
    /// Messages the peer received per second, first to last message; nil when fewer than two arrived.
    var messagesPerSecond: Double?
    var received: Int
    /// Published messages the peer never received (within the drain bounds).
    var lost: Int
    /// How often our subscriber reported `.disconnected` (redis-cli's disconnects show up as losses only).
    var disconnects: Int
    /// Messages whose payload size differed from the published one.
    var wrongSizes: Int
}
