import NIOCore
import NIOEmbedded
import Testing

@testable import RedisClient

/// Health checks of the subscriber's state machine, on embedded channels (no Redis): a PING every interval (10 s
/// here, counted from `start()`), and a connection silent for more than two intervals at a check is replaced.
extension RedisSubscriberStateTests {
    static let ping = "*1\r\n$4\r\nPING\r\n"

    /// Advances to `time` ms and returns what the connection wrote on the way.
    static func written(_ harness: SubscriberHarness, at time: Int64) throws -> String {
        harness.advance(toMilliseconds: time)
        return try harness.written()
    }

    /// Without subscriptions Redis answers PING with `+PONG`. After the answered PING at 10 s the PINGs at 20 s
    /// and 30 s go unanswered; at 30 s the silence is 20 s, not more than two intervals, so the check at 40 s
    /// (30 s of silence) is the one that drops the connection.
    @Test func anIdleConnectionIsPingedEveryIntervalAndDroppedAtTheFirstCheckAfterTwoIntervalsOfSilence() throws {
        try SubscriberHarness.run(jitter: { $0.upperBound }) { harness in
            try Self.connected(harness)
            #expect(try Self.written(harness, at: 9_999) == "")
            #expect(try Self.written(harness, at: 10_000) == Self.ping)
            try harness.receive("+PONG\r\n")
            #expect(harness.current.isActive)
            #expect(try Self.written(harness, at: 19_999) == "")
            #expect(try Self.written(harness, at: 20_000) == Self.ping)
            #expect(try Self.written(harness, at: 30_000) == Self.ping)
            #expect(try Self.written(harness, at: 39_999) == "")
            #expect(harness.current.isActive)
            #expect(harness.log.all == [.connected])

            let silent = harness.current
            #expect(try Self.written(harness, at: 40_000) == "")
            #expect(!silent.isActive)
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed)])
            Self.expectAttempt(harness, at: 40_100)
            try harness.accept()
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed), .reconnected])
            #expect(harness.attemptTimes == [0, 40_100])
        }
    }

    /// In subscribed mode PING is answered by a `pong` push; messages count as signs of life as well. The last one
    /// at 25 s keeps the connection through the check at 40 s (15 s of silence); at 50 s (25 s) it is dropped.
    @Test func pongPushesAndMessagesKeepASubscribedConnectionAlive() throws {
        try SubscriberHarness.run(jitter: { $0.upperBound }) { harness in
            try Self.connected(harness)
            _ = harness.request(.subscribe, ["a"])
            try harness.confirm("subscribe", ["a"])
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "a"))

            #expect(try Self.written(harness, at: 10_000) == Self.ping)
            try harness.receive(RESP.array("pong", ""))
            #expect(try Self.written(harness, at: 20_000) == Self.ping)
            harness.advance(toMilliseconds: 25_000)
            try harness.receive(RESP.array("message", "a", "x"))
            #expect(try Self.written(harness, at: 30_000) == Self.ping)
            #expect(try Self.written(harness, at: 40_000) == Self.ping)
            #expect(harness.current.isActive)

            #expect(try Self.written(harness, at: 50_000) == "")
            #expect(!harness.current.isActive)
            #expect(
                harness.log.all == [
                    .connected, .message(channel: "a", payload: ByteBuffer(string: "x")),
                    .disconnected(SubscriberHarness.closed),
                ])
            Self.expectAttempt(harness, at: 50_100)
            try harness.accept()
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "a"))
        }
    }

    /// The checks keep their cadence from `start()` while no connection is up, and PING only a connected one.
    @Test func noPingIsWrittenWhileConnectingAndChecksResumeOnTheNewConnection() throws {
        try SubscriberHarness.run(jitter: { $0.upperBound }) { harness in
            harness.state.start()
            harness.advance(toMilliseconds: 15_000)
            let late = try harness.accept()
            #expect(try harness.written(on: late) == "")
            #expect(try Self.written(harness, at: 19_999) == "")
            #expect(try Self.written(harness, at: 20_000) == Self.ping)
            #expect(harness.log.all == [.connected])
        }
    }
}
