import LocalRedis
import NIOCore
import NIOPosix
import RedisClient
import Testing

@Suite("Subscriber link probes against a real redis-server")
struct RedisSubscriberProbeTests {
    /// Probes every 100 ms, failing after 2 s (less, and a machine loaded by parallel suites can delay a healthy
    /// probe that long); the PING health check is pushed out to two minutes, so only a probe
    /// can notice a link that stopped delivering within a test's time.
    static func probingOptions() -> RedisSubscriber.Options {
        var options = RedisSubscriber.Options()
        options.initialBackoff = .milliseconds(20)
        options.maximumBackoff = .milliseconds(200)
        options.healthCheckInterval = .seconds(120)
        options.probeInterval = .milliseconds(100)
        options.probeTimeout = .seconds(2)
        return options
    }

    static func makeSubscriber(
        _ server: LocalRedisServer, log: EventLog, eventLoop: any EventLoop, connectTimeout: Duration = .seconds(5)
    ) -> RedisSubscriber {
        var configuration = server.configuration
        configuration.connectTimeout = connectTimeout
        return RedisSubscriber(
            configuration: configuration, eventLoop: eventLoop, options: probingOptions(), onEvent: { log.append($0) })
    }

    @Test func probesComeBackOnAHealthyLinkAndNeverReachTheCaller() async throws {
        try await withLocalRedis { server in
            let log = EventLog()
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let subscriber = Self.makeSubscriber(server, log: log, eventLoop: group.next())
            subscriber.start()
            try await subscriber.subscribe(["orders"])
            try await waitUntil("five probes back") {
                let link = subscriber.links[0]
                return link.probesSent >= 5 && link.lastRoundTrip != nil
            }
            let admin = try await RedisConnection.connect(configuration: server.configuration)
            defer { admin.closeNow() }
            for index in 0..<3 {
                #expect(try await admin.send("PUBLISH", "orders", "o\(index)") == .integer(1))
            }
            try await waitUntil("three messages") { log.messages.count == 3 }
            try await waitUntil("two more probes") { subscriber.links[0].probesSent >= 7 }

            let link = subscriber.links[0]
            #expect(link.address == server.configuration.address)
            #expect(link.isUp)
            #expect(link.probeFailures == 0)
            #expect(!link.lastProbeFailed)
            #expect(link.messagesReceived == 3)
            let probeChannel = try #require(link.probeChannel)
            #expect(probeChannel.hasPrefix("sse:probe:"))
            // The probe channel is held on the link (one subscriber: this one), but is not the caller's.
            #expect(
                try await admin.send("PUBSUB", "NUMSUB", probeChannel)
                    == .array([.bulk(ByteBuffer(string: probeChannel)), .integer(1)]))
            #expect(await subscriber.subscriptions().channels == ["orders"])
            // Only the caller's messages reached onEvent, in order: no probe did.
            let messages = log.all.compactMap { event -> String? in
                if case .message(let channel, let payload) = event { return "\(channel)=\(String(buffer: payload))" }
                return nil
            }
            #expect(messages == ["orders=o0", "orders=o1", "orders=o2"])
            #expect(log.all.count == 4)  // .connected and the three messages
            #expect(log.connectedCount == 1)
            await subscriber.close()
            #expect(!subscriber.links[0].isUp)
            try await group.shutdownGracefully()
        }
    }

    /// SIGSTOP keeps the server's sockets open: the link's connection stays up and nothing arrives on it (what a
    /// half-open connection or a frozen primary looks like). The probe notices within its timeout, the link is
    /// closed and replaced, and once the server thaws it resubscribes and delivers again.
    @Test func aFrozenServerFailsTheProbeAndTheLinkIsReplacedOnceItThaws() async throws {
        try await withLocalRedis { server in
            let log = EventLog()
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let subscriber = Self.makeSubscriber(
                server, log: log, eventLoop: group.next(), connectTimeout: .milliseconds(500))
            subscriber.start()
            try await subscriber.subscribe(["orders"])
            try await waitUntil("a probe back") { subscriber.links[0].lastRoundTrip != nil }
            #expect(subscriber.links[0].isUp)

            let failuresBefore = subscriber.links[0].probeFailures
            let lossesBefore = log.disconnectedCount
            server.pause()
            let frozenAt = ContinuousClock.now
            do {
                try await waitUntil("the probe failed", timeout: .seconds(6)) {
                    subscriber.links[0].probeFailures == failuresBefore + 1
                }
                let detectedAfter = ContinuousClock.now - frozenAt
                try await waitUntil("the loss reported") { log.disconnectedCount == lossesBefore + 1 }
                #expect(!subscriber.links[0].isUp)
                #expect(subscriber.links[0].lastProbeFailed)
                #expect(subscriber.links[0].problem == "Redis link \(server.configuration.address) is down")
                // Within the probe timeout (plus one interval and slack), long before a health check could.
                #expect(detectedAfter < .seconds(4), "detected after \(detectedAfter)")
                #expect(log.reconnectedCount == lossesBefore)
            } catch {
                server.resume()
                throw error
            }
            server.resume()

            try await waitUntil("reconnected and resubscribed") { log.reconnectedCount == lossesBefore + 1 }
            try await waitUntil("a probe back after the reconnect") {
                let link = subscriber.links[0]
                return link.isUp && !link.lastProbeFailed && link.problem == nil
            }
            let admin = try await RedisConnection.connect(configuration: server.configuration)
            defer { admin.closeNow() }
            #expect(try await admin.send("PUBLISH", "orders", "after") == .integer(1))
            try await waitUntil("the message after the thaw") { log.messages == ["after"] }
            #expect(subscriber.links[0].probeFailures == failuresBefore + 1)
            #expect(log.connectedCount == 1)
            #expect(log.disconnectedCount == lossesBefore + 1)
            await subscriber.close()
            try await group.shutdownGracefully()
        }
    }

    /// `CLIENT PAUSE … WRITE` holds every publish (PUBLISH may replicate) while connections, PING and subscribes
    /// are answered: the link looks healthy and delivers nothing. The probe fails, the link is replaced (the new
    /// one connects and subscribes while the pause lasts, so the server is answering), and once the pause ends
    /// probes come back and messages flow.
    @Test func aServerThatAnswersButHoldsPublishesFailsTheProbe() async throws {
        try await withLocalRedis { server in
            let log = EventLog()
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let subscriber = Self.makeSubscriber(server, log: log, eventLoop: group.next())
            subscriber.start()
            try await subscriber.subscribe(["orders"])
            try await waitUntil("a probe back") { subscriber.links[0].lastRoundTrip != nil }
            let admin = try await RedisConnection.connect(configuration: server.configuration)
            defer { admin.closeNow() }
            let failuresBefore = subscriber.links[0].probeFailures
            let reconnectsBefore = log.reconnectedCount
            #expect(try await admin.send("CLIENT", "PAUSE", "6000", "WRITE") == .status("OK"))
            let pausedAt = ContinuousClock.now
            try await waitUntil("the probe failed and the link came back", timeout: .seconds(5)) {
                subscriber.links[0].probeFailures > failuresBefore && log.reconnectedCount > reconnectsBefore
            }
            // Replaced and resubscribed while publishes are still held: the server answered all along.
            #expect(ContinuousClock.now - pausedAt < .seconds(6))
            #expect(try await admin.send("PING") == .status("PONG"))
            #expect(subscriber.links[0].problem == "Redis link \(server.configuration.address) failed its last probe")
            #expect(log.messages.isEmpty)

            try await waitUntil("a probe back after the pause", timeout: .seconds(8)) {
                let link = subscriber.links[0]
                return link.problem == nil && link.lastRoundTrip != nil
            }
            #expect(try await admin.send("PUBLISH", "orders", "after") == .integer(1))
            try await waitUntil("the message after the pause") { log.messages == ["after"] }
            await subscriber.close()
            try await group.shutdownGracefully()
        }
    }

    @Test func probingIsOffByDefault() async throws {
        try await withLocalRedis { server in
            let log = EventLog()
            let subscriber = RedisSubscriber(
                configuration: server.configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                onEvent: { log.append($0) })
            subscriber.start()
            try await subscriber.subscribe(["orders"])
            try await Task.sleep(for: .milliseconds(300))
            let link = subscriber.links[0]
            #expect(link.isUp)
            #expect(link.probesSent == 0)
            #expect(link.probeChannel == nil)
            let admin = try await RedisConnection.connect(configuration: server.configuration)
            defer { admin.closeNow() }
            // One subscribed connection only: no probe channel, no probe connection.
            #expect(try await admin.send("PUBSUB", "CHANNELS") == .array([.bulk(ByteBuffer(string: "orders"))]))
            await subscriber.close()
        }
    }
}
