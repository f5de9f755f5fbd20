import LocalRedis
import NIOCore
import NIOPosix
import RedisClient
import Testing

@Suite("Subscriber against a real redis-server")
struct RedisSubscriberTests {
    static func makeSubscriber(_ server: LocalRedisServer, log: EventLog) -> RedisSubscriber {
        var options = RedisSubscriber.Options()
        options.initialBackoff = .milliseconds(20)
        options.maximumBackoff = .milliseconds(200)
        return RedisSubscriber(
            configuration: server.configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.any(),
            options: options, onEvent: { log.append($0) })
    }

    @Test func messagesArriveInPublishOrderUnderConcurrentPublishers() async throws {
        try await withLocalRedis { server in
            let log = EventLog()
            let subscriber = Self.makeSubscriber(server, log: log)
            subscriber.start()
            try await subscriber.subscribe(["orders:a", "orders:b"])
            try await waitUntil("connected") { log.connectedCount == 1 }

            // Two publishers on their own connections, each with its own strictly increasing sequence.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for name in ["a", "b"] {
                    group.addTask {
                        let publisher = try await RedisConnection.connect(configuration: server.configuration)
                        defer { publisher.closeNow() }
                        for batch in 0..<20 {
                            let commands = (0..<100).map {
                                RedisCommand("PUBLISH", "orders:\(name)", "\(name)\(batch * 100 + $0)")
                            }
                            let replies = try await publisher.pipeline(commands)
                            #expect(replies.allSatisfy { $0 == .integer(1) })
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await waitUntil("4,000 messages") { log.messages.count == 4000 }
            for name in ["a", "b"] {
                let received = log.all.compactMap { event -> String? in
                    guard case .message(let channel, let payload) = event, channel == "orders:\(name)" else {
                        return nil
                    }
                    return String(buffer: payload)
                }
                #expect(received == (0..<2000).map { "\(name)\($0)" })
            }
            await subscriber.close()
        }
    }

    /// With no channel subscribed Redis answers the health PING with `+PONG`, not a pub/sub push; the connection
    /// must take it as a sign of life, not as a reply nobody asked for (which would drop and replace it).
    @Test func idleSubscriberWithoutChannelsSurvivesItsHealthChecks() async throws {
        try await withLocalRedis { server in
            let log = EventLog()
            var options = RedisSubscriber.Options()
            // Short enough to check several times in two seconds, long enough that a busy machine (the whole suite
            // runs in parallel) never delays a PONG past the 2 × interval silence limit; on a loop of its own, so
            // that other suites' work on NIO's shared loops cannot delay the check (it once did, at 250 ms).
            options.healthCheckInterval = .milliseconds(500)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let subscriber = RedisSubscriber(
                configuration: server.configuration, eventLoop: group.next(), options: options,
                onEvent: { log.append($0) })
            subscriber.start()
            try await waitUntil("connected") { log.connectedCount == 1 }
            let admin = try await RedisConnection.connect(configuration: server.configuration)
            defer { admin.closeNow() }
            try await waitUntil("Redis has answered 4 health PINGs") {
                let info = try await admin.send("INFO", "commandstats").string ?? ""
                let line = info.split(separator: "\r\n").first { $0.hasPrefix("cmdstat_ping:") } ?? ""
                let calls = line.split(separator: ",").first.flatMap { Int($0.split(separator: "=").last ?? "") }
                return (calls ?? 0) >= 4
            }
            // Subscribing afterwards still works on the same connection.
            try await subscriber.subscribe(["after-idle"])
            #expect(try await admin.send("PUBLISH", "after-idle", "x") == .integer(1))
            try await waitUntil("the message") { log.messages.count == 1 }
            #expect(log.connectedCount == 1)
            #expect(log.disconnectedCount == 0)
            #expect(log.reconnectedCount == 0)
            await subscriber.close()
            try await group.shutdownGracefully()
        }
    }

    @Test func patternSubscriptionsDeliverTheChannelName() async throws {
        try await withLocalRedis { server in
            let log = EventLog()
            let subscriber = Self.makeSubscriber(server, log: log)
            subscriber.start()
            try await subscriber.psubscribe(["news.*"])
            let publisher = try await RedisConnection.connect(configuration: server.configuration)
            defer { publisher.closeNow() }
            #expect(try await publisher.send("PUBLISH", "news.sport", "goal") == .integer(1))
            #expect(try await publisher.send("PUBLISH", "weather", "rain") == .integer(0))
            #expect(try await publisher.send("PUBLISH", "news.art", "line1\nline2") == .integer(1))
            try await waitUntil("two pattern messages") {
                log.count { if case .patternMessage = $0 { return true } else { return false } } == 2
            }
            let patternEvents = log.all.filter { if case .patternMessage = $0 { return true } else { return false } }
            #expect(
                patternEvents == [
                    .patternMessage(pattern: "news.*", channel: "news.sport", payload: ByteBuffer(string: "goal")),
                    .patternMessage(
                        pattern: "news.*", channel: "news.art", payload: ByteBuffer(string: "line1\nline2")),
                ])
            try await subscriber.punsubscribe(["news.*"])
            #expect(try await publisher.send("PUBLISH", "news.sport", "after") == .integer(0))
            await subscriber.close()
        }
    }

    @Test func subscriptionsChangeAtRuntime() async throws {
        try await withLocalRedis { server in
            let log = EventLog()
            let subscriber = Self.makeSubscriber(server, log: log)
            subscriber.start()
            try await subscriber.subscribe(["one"])
            let publisher = try await RedisConnection.connect(configuration: server.configuration)
            defer { publisher.closeNow() }
            #expect(
                try await publisher.send("PUBSUB", "NUMSUB", "one", "two")
                    == .array([
                        .bulk(ByteBuffer(string: "one")), .integer(1), .bulk(ByteBuffer(string: "two")), .integer(0),
                    ]))
            try await subscriber.subscribe(["two"])
            try await subscriber.unsubscribe(["one"])
            #expect(
                try await publisher.send("PUBSUB", "NUMSUB", "one", "two")
                    == .array([
                        .bulk(ByteBuffer(string: "one")), .integer(0), .bulk(ByteBuffer(string: "two")), .integer(1),
                    ]))
            #expect(await subscriber.subscriptions().channels == ["two"])
            // Subscribe, unsubscribe and subscribe again without waiting: the last word wins.
            async let first: Void = subscriber.subscribe(["three"])
            async let second: Void = subscriber.unsubscribe(["three"])
            async let third: Void = subscriber.subscribe(["three"])
            _ = try await (first, second, third)
            #expect(await subscriber.subscriptions().channels == ["two", "three"])
            await subscriber.close()
        }
    }

    @Test func resubscribesByItselfAfterRedisIsKilledAndRestarted() async throws {
        try await withLocalRedis { server in
            let log = EventLog()
            let subscriber = Self.makeSubscriber(server, log: log)
            subscriber.start()
            try await subscriber.subscribe(["live"])
            try await subscriber.psubscribe(["live.*"])
            try await waitUntil("connected") { log.connectedCount == 1 }
            let before = try await RedisConnection.connect(configuration: server.configuration)
            #expect(try await before.send("PUBLISH", "live", "before") == .integer(1))
            before.closeNow()
            try await waitUntil("the first message") { log.messages == ["before"] }

            server.kill()
            try await waitUntil("the disconnect is reported") { log.disconnectedCount == 1 }
            // Stay down across several reconnect attempts, then come back on the same port.
            try await Task.sleep(for: .milliseconds(300))
            try await server.restart()
            try await waitUntil("the reconnect is reported") { log.reconnectedCount == 1 }

            let after = try await RedisConnection.connect(configuration: server.configuration)
            defer { after.closeNow() }
            // Both the channel and the pattern subscription are back: each PUBLISH reaches 1 channel + 1 pattern.
            #expect(try await after.send("PUBLISH", "live", "after") == .integer(1))
            #expect(try await after.send("PUBLISH", "live.x", "pattern-after") == .integer(1))
            try await waitUntil("messages after the restart") { log.messages == ["before", "after"] }
            try await waitUntil("pattern message after the restart") {
                log.all.last
                    == .patternMessage(
                        pattern: "live.*", channel: "live.x", payload: ByteBuffer(string: "pattern-after"))
            }
            // The order of lifecycle events: connected, disconnected (once), reconnected.
            let lifecycle = log.all.filter {
                switch $0 {
                case .connected, .reconnected, .disconnected: return true
                default: return false
                }
            }
            #expect(lifecycle.count == 3)
            #expect(lifecycle.first == .connected)
            #expect(lifecycle.last == .reconnected)
            await subscriber.close()
        }
    }

    @Test func subscribeWhileRedisIsDownCompletesOnReconnect() async throws {
        try await withLocalRedis { server in
            let log = EventLog()
            let subscriber = Self.makeSubscriber(server, log: log)
            subscriber.start()
            try await waitUntil("connected") { log.connectedCount == 1 }
            server.kill()
            try await waitUntil("disconnect reported") { log.disconnectedCount == 1 }
            async let subscribed: Void = subscriber.subscribe(["late"])
            try await server.restart()
            try await subscribed
            let publisher = try await RedisConnection.connect(configuration: server.configuration)
            defer { publisher.closeNow() }
            #expect(try await publisher.send("PUBLISH", "late", "hello") == .integer(1))
            try await waitUntil("message on the late subscription") { log.messages == ["hello"] }
            await subscriber.close()
        }
    }

    @Test func killedSubscriberConnectionComesBack() async throws {
        // Redis kills a subscriber client (as it does past the pubsub output-buffer limit); it must come back.
        try await withLocalRedis(.init(extraArguments: ["--client-output-buffer-limit", "pubsub 1mb 512kb 1"])) {
            server in
            let log = EventLog()
            let subscriber = Self.makeSubscriber(server, log: log)
            subscriber.start()
            try await subscriber.subscribe(["flood"])
            let admin = try await RedisConnection.connect(configuration: server.configuration)
            defer { admin.closeNow() }
            try await admin.send("CLIENT", "KILL", "TYPE", "pubsub")
            try await waitUntil("disconnect reported") { log.disconnectedCount == 1 }
            try await waitUntil("reconnected") { log.reconnectedCount == 1 }
            #expect(try await admin.send("PUBLISH", "flood", "still here") == .integer(1))
            try await waitUntil("message after the drop") { log.messages == ["still here"] }
            await subscriber.close()
        }
    }
}
