import NIOCore
import NIOEmbedded
import Testing

@testable import RedisClient

/// The subscriber's state machine with Redis played by hand over `EmbeddedChannel`s (see ``SubscriberHarness``):
/// exact commands written, exact event sequences, exact timings. The real-server behaviour is covered by
/// ``RedisSubscriberTests``. More tests of this suite: `RedisSubscriberStateReconnectTests.swift` (outages, backoff,
/// restores) and `RedisSubscriberStateHealthTests.swift` (health checks).
@Suite("Subscriber state machine (embedded channel, no Redis)")
struct RedisSubscriberStateTests {
    /// Connects with nothing subscribed yet: `.connected` at once, nothing written.
    static func connected(_ harness: SubscriberHarness) throws {
        harness.state.start()
        try harness.accept()
        #expect(harness.log.all == [.connected])
        #expect(try harness.written() == "")
    }

    @Test func aSubscribeIsWrittenOnceAndCompletesOnlyWhenEveryNameIsConfirmed() throws {
        try SubscriberHarness.run { harness in
            try Self.connected(harness)
            let request = harness.request(.subscribe, ["a", "bb"])
            #expect(try harness.written() == "*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$2\r\nbb\r\n")
            #expect(harness.state.channels == ["a", "bb"])

            try harness.confirm("subscribe", ["a"])
            #expect(request.result == nil)
            try harness.confirm("subscribe", ["bb"])
            #expect(request.succeeded)
            #expect(try harness.written() == "")
            #expect(harness.log.all == [.connected])
        }
    }

    /// Redis confirms every argument, so a repeated name would bring a second confirmation that completes the next
    /// request waiting for that name before Redis has even read that request.
    @Test func aNameRepeatedInOneRequestIsSentOnce() throws {
        try SubscriberHarness.run { harness in
            try Self.connected(harness)
            let first = harness.request(.subscribe, ["a", "b", "a"])
            let second = harness.request(.subscribe, ["a"])
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "a", "b") + RESP.array("SUBSCRIBE", "a"))

            try harness.confirm("subscribe", ["a", "b"])
            #expect(first.succeeded)
            #expect(second.result == nil)
            try harness.confirm("subscribe", ["a"])
            #expect(second.succeeded)
        }
    }

    @Test func requestsMadeWhileConnectingAreSentAsTheFirstRestoreAndConnectedWaitsForTheirConfirmations() throws {
        try SubscriberHarness.run { harness in
            harness.state.start()
            let channels = harness.request(.subscribe, ["b", "a"])
            let patterns = harness.request(.psubscribe, ["p*"])
            #expect(channels.result == nil && patterns.result == nil)

            try harness.accept()
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "a", "b") + RESP.array("PSUBSCRIBE", "p*"))
            #expect(harness.log.all == [])
            try harness.confirm("subscribe", ["a", "b"])
            #expect(channels.succeeded)
            #expect(patterns.result == nil)
            #expect(harness.log.all == [])
            try harness.confirm("psubscribe", ["p*"])
            #expect(patterns.succeeded)
            #expect(harness.log.all == [.connected])
        }
    }

    @Test func anUnsubscribeWhileConnectingCompletesAtOnceAndIsNeverSent() throws {
        try SubscriberHarness.run { harness in
            harness.state.start()
            let subscribe = harness.request(.subscribe, ["a", "b"])
            let unsubscribe = harness.request(.unsubscribe, ["a"])
            #expect(unsubscribe.succeeded)
            #expect(harness.state.channels == ["b"])

            try harness.accept()
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "b"))
            try harness.confirm("subscribe", ["b"])
            #expect(subscribe.succeeded)
            #expect(harness.log.all == [.connected])
        }
    }

    @Test func messagesAndPatternMessagesReachOnEventInRedisOrderWithTheirChannel() throws {
        try SubscriberHarness.run { harness in
            try Self.connected(harness)
            _ = harness.request(.subscribe, ["a"])
            _ = harness.request(.psubscribe, ["n:*"])
            try harness.confirm("subscribe", ["a"])
            try harness.confirm("psubscribe", ["n:*"])
            _ = try harness.written()

            // One read holding four pushes, a payload with CRLF inside and an empty one; the pong is liveness only.
            try harness.receive(
                RESP.array("message", "a", "1\r\n1") + RESP.array("pmessage", "n:*", "n:x", "2")
                    + RESP.array("pong", "") + RESP.array("message", "a", ""))
            #expect(
                harness.log.all == [
                    .connected, .message(channel: "a", payload: ByteBuffer(string: "1\r\n1")),
                    .patternMessage(pattern: "n:*", channel: "n:x", payload: ByteBuffer(string: "2")),
                    .message(channel: "a", payload: ByteBuffer()),
                ])
            #expect(try harness.written() == "")
        }
    }

    /// `message` with two parts instead of three is a push the subscriber cannot read: dropped, connection kept.
    @Test func aMessagePushOfTheWrongShapeIsIgnoredAndTheConnectionStays() throws {
        try SubscriberHarness.run { harness in
            try Self.connected(harness)
            try harness.receive(RESP.array("message", "a") + RESP.array("message", "a", "after"))
            #expect(harness.log.all == [.connected, .message(channel: "a", payload: ByteBuffer(string: "after"))])
            #expect(harness.current.isActive)
        }
    }

    /// `zmessage` is no push the connection knows: a reply nobody asked for, so the connection closes as out of
    /// step and the subscriber replaces it.
    @Test func aPushOfAnUnknownKindClosesTheConnectionAndTheSubscriberReconnects() throws {
        try SubscriberHarness.run(jitter: { $0.upperBound }) { harness in
            try Self.connected(harness)
            _ = harness.request(.subscribe, ["a"])
            try harness.confirm("subscribe", ["a"])
            _ = try harness.written()

            try harness.receive(RESP.array("zmessage", "a", "x"))
            #expect(!harness.current.isActive)
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed)])
            harness.advance(toMilliseconds: 100)
            #expect(harness.attemptTimes == [0, 100])
            try harness.accept()
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "a"))
        }
    }

    @Test func closeFailsWaitingRequestsSchedulesNoReconnectAndFailsLaterRequests() throws {
        try SubscriberHarness.run { harness in
            try Self.connected(harness)
            let waiting = harness.request(.subscribe, ["a"])
            #expect(try harness.written() == RESP.array("SUBSCRIBE", "a"))

            _ = harness.state.close()
            harness.loop.run()
            #expect(waiting.failure == SubscriberHarness.closed)
            #expect(!harness.current.isActive)
            harness.advance(toMilliseconds: 60_000)  // past six health checks and any backoff
            #expect(harness.attemptTimes == [0])
            #expect(harness.log.all == [.connected])
            #expect(try harness.written() == "")

            let later = harness.request(.subscribe, ["b"])
            #expect(later.failure == SubscriberHarness.closed)
            harness.state.start()
            #expect(harness.attemptTimes == [0])
        }
    }

    @Test func closeWhileWaitingToReconnectCancelsTheReconnect() throws {
        try SubscriberHarness.run { harness in
            harness.state.start()
            harness.refuse()
            let waiting = harness.request(.subscribe, ["a"])
            _ = harness.state.close()
            #expect(waiting.failure == SubscriberHarness.closed)
            harness.advance(toMilliseconds: 60_000)
            #expect(harness.attemptTimes == [0])
            #expect(harness.log.all == [.disconnected(SubscriberHarness.refused)])
        }
    }

    @Test func closeWhileConnectingClosesTheConnectionThatArrivesAfterwards() throws {
        try SubscriberHarness.run { harness in
            harness.state.start()
            _ = harness.state.close()
            let late = try harness.accept()
            #expect(!late.isActive)
            #expect(try harness.written(on: late) == "")
            #expect(harness.log.all == [])
        }
    }
}
