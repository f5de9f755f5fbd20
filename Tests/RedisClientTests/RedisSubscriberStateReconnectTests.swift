import NIOCore
import NIOEmbedded
import Testing

@testable import RedisClient

/// Outages, backoff and restores of the subscriber's state machine, on embedded channels (no Redis).
extension RedisSubscriberStateTests {
    /// Checks the next connect attempt comes exactly at `time` ms of loop time: none a millisecond before.
    static func expectAttempt(
        _ harness: SubscriberHarness, at time: Int64, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        harness.advance(toMilliseconds: time - 1)
        #expect(harness.pendingAttempts == 0, "an attempt before \(time) ms", sourceLocation: sourceLocation)
        harness.advance(toMilliseconds: time)
        #expect(harness.pendingAttempts == 1, "no attempt at \(time) ms", sourceLocation: sourceLocation)
    }

    /// With the jitter at its top every delay is the whole doubled delay: 100, 200, 400, then 800 (the maximum).
    @Test func aLostConnectionReportsDisconnectedOnceAndRetriesWithDoublingDelaysUpToTheMaximum() throws {
        try SubscriberHarness.run(healthCheckInterval: .seconds(3600), jitter: { $0.upperBound }) { harness in
            try Self.connected(harness)
            harness.advance(toMilliseconds: 1000)
            harness.current.close(promise: nil)
            harness.loop.run()
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed)])

            for time: Int64 in [1100, 1300, 1700, 2500, 3300] {
                Self.expectAttempt(harness, at: time)
                harness.refuse()
            }
            #expect(harness.attemptTimes == [0, 1100, 1300, 1700, 2500, 3300])
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed)])
            Self.expectAttempt(harness, at: 4100)
            try harness.accept()
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed), .reconnected])
        }
    }

    /// With the jitter at its bottom every delay is half the doubled one: 50, 100, 200, 400, 400.
    @Test func aRefusedFirstConnectReportsDisconnectedOnceAndConnectedWhenRedisComes() throws {
        try SubscriberHarness.run(healthCheckInterval: .seconds(3600), jitter: { $0.lowerBound }) { harness in
            harness.state.start()
            harness.refuse()
            #expect(harness.log.all == [.disconnected(SubscriberHarness.refused)])
            for time: Int64 in [50, 150, 350, 750, 1150] {
                Self.expectAttempt(harness, at: time)
                harness.refuse()
            }
            Self.expectAttempt(harness, at: 1550)
            try harness.accept()
            #expect(harness.log.all == [.disconnected(SubscriberHarness.refused), .connected])
        }
    }

    /// The production jitter: each delay is at least half and at most all of 100 ms doubled per attempt (≤ 800).
    @Test func withRandomJitterEachDelayLiesBetweenHalfAndAllOfTheDoubledDelay() throws {
        try SubscriberHarness.run(healthCheckInterval: .seconds(3600)) { harness in
            harness.state.start()
            for _ in 0..<6 {
                harness.refuse()
                var waited = 0
                while harness.pendingAttempts == 0 && waited < 1000 {
                    harness.advance(toMilliseconds: harness.milliseconds + 1)
                    waited += 1
                }
            }
            let times = harness.attemptTimes
            #expect(times.count == 7)
            for (index, delay) in zip(times.dropFirst(), times).map({ $0 - $1 }).enumerated() {
                let full = min(800, Int64(100) << index)
                #expect((full / 2)...full ~= delay, "delay \(index + 1) was \(delay) ms")
            }
        }
    }

    @Test func aReconnectRestoresEveryChannelAndPatternInOneWriteAndReportsReconnectedAfterTheLastConfirmation()
        throws
    {
        try SubscriberHarness.run(healthCheckInterval: .seconds(3600), jitter: { $0.upperBound }) { harness in
            try Self.connected(harness)
            _ = harness.request(.subscribe, ["b", "a"])
            _ = harness.request(.psubscribe, ["p*", "o*"])
            try harness.confirm("subscribe", ["b", "a"])
            try harness.confirm("psubscribe", ["p*", "o*"])
            _ = try harness.written()

            let lost = harness.current
            lost.close(promise: nil)
            harness.advance(toMilliseconds: 100)
            let restored = try harness.accept()
            harness.loop.run()
            var writes: [String] = []
            while let buffer = try restored.readOutbound(as: ByteBuffer.self) { writes.append(String(buffer: buffer)) }
            #expect(writes == [RESP.array("SUBSCRIBE", "a", "b") + RESP.array("PSUBSCRIBE", "o*", "p*")])

            let outage: [RedisSubscriber.Event] = [.connected, .disconnected(SubscriberHarness.closed)]
            try harness.confirm("subscribe", ["a", "b"])
            try harness.confirm("psubscribe", ["o*"])
            #expect(harness.log.all == outage)
            try harness.confirm("psubscribe", ["p*"])
            #expect(harness.log.all == outage + [.reconnected])
            #expect(try harness.written(on: lost) == "")
        }
    }

    @Test func aRequestWhileWaitingToReconnectCompletesAfterTheReconnectsConfirmations() throws {
        try SubscriberHarness.run(healthCheckInterval: .seconds(3600), jitter: { $0.upperBound }) { harness in
            try Self.connected(harness)
            _ = harness.request(.subscribe, ["a"])
            try harness.confirm("subscribe", ["a"])
            _ = try harness.written()
            harness.current.close(promise: nil)
            harness.loop.run()

            let subscribe = harness.request(.subscribe, ["c"])
            let unsubscribe = harness.request(.unsubscribe, ["a"])
            #expect(unsubscribe.succeeded)
            harness.advance(toMilliseconds: 100)
            try harness.accept()
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "c"))
            #expect(subscribe.result == nil)
            try harness.confirm("subscribe", ["c"])
            #expect(subscribe.succeeded)
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed), .reconnected])
        }
    }

    @Test func anUnsubscribedNameIsNotRestoredAfterAReconnect() throws {
        try SubscriberHarness.run(healthCheckInterval: .seconds(3600), jitter: { $0.upperBound }) { harness in
            try Self.connected(harness)
            _ = harness.request(.subscribe, ["a", "b"])
            _ = harness.request(.psubscribe, ["p*"])
            try harness.confirm("subscribe", ["a", "b"])
            try harness.confirm("psubscribe", ["p*"])
            _ = try harness.written()

            let unsubscribe = harness.request(.unsubscribe, ["a"])
            let punsubscribe = harness.request(.punsubscribe, ["p*"])
            #expect(try harness.written() == RESP.array("UNSUBSCRIBE", "a") + RESP.array("PUNSUBSCRIBE", "p*"))
            #expect(unsubscribe.result == nil)
            try harness.confirm("unsubscribe", ["a"])
            #expect(unsubscribe.succeeded)
            #expect(punsubscribe.result == nil)
            try harness.confirm("punsubscribe", ["p*"])
            #expect(punsubscribe.succeeded)
            #expect(harness.state.channels == ["b"] && harness.state.patterns == [])

            harness.current.close(promise: nil)
            harness.advance(toMilliseconds: 100)
            try harness.accept()
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "b"))
        }
    }

    /// A subscribe still unconfirmed when the connection went, and one made while it was down, are both undone by
    /// an unsubscribe before the reconnect: the restore holds neither name, and both requests complete with it.
    @Test func subscribesUndoneWhileDisconnectedCompleteAtTheReconnect() throws {
        try SubscriberHarness.run(healthCheckInterval: .seconds(3600), jitter: { $0.upperBound }) { harness in
            try Self.connected(harness)
            let inFlight = harness.request(.subscribe, ["a"])
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "a"))
            harness.current.close(promise: nil)
            harness.loop.run()
            let whileDown = harness.request(.subscribe, ["b"])
            let undo = harness.request(.unsubscribe, ["a", "b"])
            #expect(undo.succeeded)

            harness.advance(toMilliseconds: 100)
            try harness.accept()
            #expect(try harness.written() == "")
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed), .reconnected])
            #expect(inFlight.succeeded)
            #expect(whileDown.succeeded)
        }
    }

    /// A caller chaining a new request on a completed one runs inside the subscriber's own bookkeeping (the
    /// in-flight unsubscribe completes when the connection is lost); the new request must be kept like any other.
    @Test func aRequestMadeFromACompletionCallbackIsKept() throws {
        try SubscriberHarness.run(healthCheckInterval: .seconds(3600), jitter: { $0.upperBound }) { harness in
            try Self.connected(harness)
            _ = harness.request(.subscribe, ["a"])
            try harness.confirm("subscribe", ["a"])
            var chained: Outcome?
            let unsubscribe = harness.request(.unsubscribe, ["a"]) {
                chained = harness.request(.subscribe, ["z"], runLoop: false)
            }
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "a") + RESP.array("UNSUBSCRIBE", "a"))

            harness.current.close(promise: nil)
            harness.loop.run()
            #expect(unsubscribe.succeeded)
            #expect(chained?.result == nil)
            harness.advance(toMilliseconds: 100)
            try harness.accept()
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "z"))
            try harness.confirm("subscribe", ["z"])
            #expect(chained?.succeeded == true)
        }
    }

    /// The restore subscribes each name once, so its one confirmation must answer every request that waited for
    /// the name through the outage, not only the first.
    @Test func twoSubscribesOfOneNameWhileDisconnectedBothCompleteWithTheRestore() throws {
        try SubscriberHarness.run(healthCheckInterval: .seconds(3600), jitter: { $0.upperBound }) { harness in
            harness.state.start()
            harness.refuse()
            let first = harness.request(.psubscribe, ["p*"])
            let second = harness.request(.psubscribe, ["p*", "q*"])
            harness.advance(toMilliseconds: 100)
            try harness.accept()
            #expect(try harness.written() == RESP.array("PSUBSCRIBE", "p*", "q*"))
            try harness.confirm("psubscribe", ["p*"])
            #expect(first.succeeded)
            #expect(second.result == nil)
            try harness.confirm("psubscribe", ["q*"])
            #expect(second.succeeded)
            #expect(harness.log.all == [.disconnected(SubscriberHarness.refused), .connected])
        }
    }
}
