import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOPosix
import RedisClient
import SSEAuth
import SSEHistory
import SSEProtocol
import ServerSupport
import Synchronization

/// The revocations scoped publish tokens are checked against: a revoked token id, or a revoked subject's or topic's
/// tokens issued before the revocation, may not publish either, exactly as they may not open streams.
///
/// Like a gateway node, the publisher subscribes to the control channel (``ControlMessage/channel``) and, each time
/// that subscription comes up, loads the revocations kept in Redis (`sse:revocations`, written by `sse_revoke`), so
/// it also knows those sent while it was away. Until that load has finished (at start, and after every lost
/// subscription) a publish with a scoped token is answered 503: honouring a token that was revoked while the
/// publisher could not hear it would be the silent failure. The static administrator token is not affected.
final class PublishRevocations: Sendable {
    let table = Revocations()
    private let logger: Logger
    private let history: @Sendable () async throws -> [String]
    /// Whether the revocations in Redis were read since the subscription last came up.
    private let loaded = Atomic<Bool>(false)
    /// Bumped at every subscription event, so a load that finishes after a disconnect does not mark the table
    /// loaded.
    private let generation = Atomic<Int>(0)
    private let subscriber = Mutex<RedisSubscriber?>(nil)

    /// - Parameter history: reads the revocations still in force (`History.revocations(now:)` within the Redis
    ///   deadline).
    init(logger: Logger, history: @escaping @Sendable () async throws -> [String]) {
        self.logger = logger
        self.history = history
    }

    /// Subscribes to the control channel on the Redis `connector` points at (on a Sentinel group, the master of the
    /// moment; on a Redis Cluster any node, since a Cluster broadcasts the classic `PUBLISH` of `sse_revoke` to
    /// every node); events arrive on `eventLoop`.
    func start(connector: RedisConnector, eventLoop: any EventLoop) {
        let subscriber = RedisSubscriber(connector: connector, eventLoop: eventLoop, logger: logger) {
            [self] event in self.handle(event)
        }
        self.subscriber.withLock { $0 = subscriber }
        // Asked before the start, so `connected` comes only once the control channel is confirmed: a revocation
        // sent after the load began is then heard on the channel.
        subscriber.requestFuture(.subscribe, [ControlMessage.channel]).whenFailure { [logger] error in
            logger.warning("cannot subscribe to the control channel", metadata: ["error": "\(error)"])
        }
        subscriber.start()
    }

    func close() async {
        let subscriber = self.subscriber.withLock { subscriber in
            defer { subscriber = nil }
            return subscriber
        }
        await subscriber?.close()
    }

    var isLoaded: Bool { loaded.load(ordering: .acquiring) }

    /// 503 while the revocations are not loaded, 401 (`access token has been revoked`) when one covers the token
    /// publishing on `topic`.
    func check(_ access: AccessToken, publishingOn topic: Topic, now: Date = Date()) throws(PublisherError) {
        guard isLoaded else {
            throw PublisherError(
                .serviceUnavailable,
                "revocations not yet loaded from Redis: a scoped token cannot be checked yet, try again",
                headers: [.retryAfter: "1"])
        }
        if table.isRevoked(access, topics: [topic], now: now) {
            throw PublishController.invalidToken(.revoked)
        }
    }

    private func handle(_ event: RedisSubscriber.Event) {
        switch event {
        case .message(let channel, let payload):
            guard channel == ControlMessage.channel else { return }
            guard case .revoke(let revocation)? = try? ControlMessage(parsing: payload) else { return }
            let entry = table.add(revocation, now: Date())
            logger.info("revocation", metadata: ["sse.revoked": "\(entry.target)", "sse.reason": "\(entry.reason)"])
        case .patternMessage:
            break
        case .connected, .reconnected:
            let current = generation.add(1, ordering: .acquiringAndReleasing).newValue
            Task { await self.load(generation: current) }
        case .disconnected:
            generation.add(1, ordering: .acquiringAndReleasing)
            loaded.store(false, ordering: .releasing)
        }
    }

    /// Reads the revocations kept in Redis, retrying while the subscription that asked for them is still up.
    private func load(generation expected: Int) async {
        var attempt = 0
        while generation.load(ordering: .acquiring) == expected {
            attempt += 1
            do {
                let payloads = try await history()
                let now = Date()
                var count = 0
                for payload in payloads {
                    guard case .revoke(let revocation)? = try? ControlMessage(parsing: ByteBuffer(string: payload))
                    else { continue }
                    table.add(revocation, now: now)
                    count += 1
                }
                if generation.load(ordering: .acquiring) == expected { loaded.store(true, ordering: .releasing) }
                if count > 0 { logger.info("loaded revocations from Redis", metadata: ["sse.count": "\(count)"]) }
                return
            } catch {
                if attempt == 1 || attempt % 10 == 0 {
                    logger.warning("could not load the revocations kept in Redis", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .milliseconds(200 * min(attempt, 10)))
            }
        }
    }
}
