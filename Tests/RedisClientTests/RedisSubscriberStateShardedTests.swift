import NIOCore
import NIOEmbedded
import Testing

@testable import RedisClient

/// The subscriber state machine in sharded mode (a link of ``RedisClusterSubscriber``), Redis played by hand:
/// `SSUBSCRIBE` per slot, `smessage`, unsolicited `sunsubscribe` and `MOVED` for a restore. `{b}` hashes to slot
/// 3300 and `{a}` to 15495, so the `{b}` command comes first.
@Suite("Subscriber state machine, sharded mode (embedded channel, no Redis)")
struct RedisSubscriberStateShardedTests {
    static func subscribed(_ harness: SubscriberHarness, _ names: [String]) throws {
        harness.state.start()
        try harness.accept()
        let request = harness.request(.ssubscribe, names)
        _ = try harness.written()
        try harness.confirm("ssubscribe", names)
        #expect(request.succeeded)
    }

    @Test func oneSsubscribeIsWrittenPerSlotAndSmessagesArriveAsMessages() throws {
        try SubscriberHarness.run(sharded: true) { harness in
            harness.state.start()
            try harness.accept()
            #expect(harness.log.all == [.connected])
            let request = harness.request(.ssubscribe, ["{a}1", "{b}1", "{a}2"])
            #expect(
                try harness.written() == RESP.array("SSUBSCRIBE", "{b}1") + RESP.array("SSUBSCRIBE", "{a}1", "{a}2"))
            try harness.confirm("ssubscribe", ["{b}1", "{a}1"])
            #expect(request.result == nil)
            try harness.confirm("ssubscribe", ["{a}2"])
            #expect(request.succeeded)
            try harness.receive(RESP.array("smessage", "{a}1", "hi"))
            #expect(harness.log.all == [.connected, .message(channel: "{a}1", payload: ByteBuffer(string: "hi"))])
        }
    }

    @Test func anUnsolicitedSunsubscribeIsReportedAndARequestedOneIsNot() throws {
        try SubscriberHarness.run(sharded: true) { harness in
            try Self.subscribed(harness, ["{a}1", "{b}1"])
            try harness.receive(RESP.confirmation("sunsubscribe", "{a}1", count: 1))
            #expect(harness.droppedByServer == [["{a}1"]])
            #expect(harness.state.channels == ["{b}1"])

            let unsubscribe = harness.request(.sunsubscribe, ["{b}1"])
            #expect(try harness.written() == RESP.array("SUNSUBSCRIBE", "{b}1"))
            try harness.confirm("sunsubscribe", ["{b}1"])
            #expect(unsubscribe.succeeded)
            #expect(harness.droppedByServer == [["{a}1"]])
            #expect(harness.state.channels == [])
        }
    }

    @Test func aRestoreRefusedWithMovedDropsThatSlotsChannelsAndTheRestCompleteTheReconnect() throws {
        try SubscriberHarness.run(healthCheckInterval: .seconds(3600), jitter: { $0.lowerBound }, sharded: true) {
            harness in
            try Self.subscribed(harness, ["{a}1", "{a}2", "{b}1"])
            harness.current.close(promise: nil)
            harness.loop.run()
            harness.advance(toMilliseconds: 50)
            try harness.accept()
            #expect(
                try harness.written() == RESP.array("SSUBSCRIBE", "{b}1") + RESP.array("SSUBSCRIBE", "{a}1", "{a}2"))
            try harness.confirm("ssubscribe", ["{b}1"])
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed)])
            try harness.receive("-MOVED 15495 127.0.0.1:7002\r\n")
            #expect(harness.droppedByServer == [["{a}1", "{a}2"]])
            #expect(harness.state.channels == ["{b}1"])
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed), .reconnected])
            #expect(harness.current.isActive)
        }
    }

    @Test func aRequestRefusedWithMovedFailsWithTheRedirectAndIsNotReportedAsDropped() throws {
        try SubscriberHarness.run(sharded: true) { harness in
            try Self.subscribed(harness, ["{b}1"])
            let request = harness.request(.ssubscribe, ["{a}1"])
            #expect(try harness.written() == RESP.array("SSUBSCRIBE", "{a}1"))
            try harness.receive("-MOVED 15495 127.0.0.1:7002\r\n")
            #expect(request.failure == .server(message: "MOVED 15495 127.0.0.1:7002"))
            #expect(harness.droppedByServer == [])
            #expect(harness.state.channels == ["{b}1"])
        }
    }

    @Test func anotherRefusalClosesTheConnectionSoTheReconnectRestoresTheSet() throws {
        try SubscriberHarness.run(sharded: true) { harness in
            try Self.subscribed(harness, ["{b}1"])
            try harness.receive("-CLUSTERDOWN The cluster is down\r\n")
            #expect(!harness.current.isActive)
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed)])
            #expect(harness.state.channels == ["{b}1"])
        }
    }
}
