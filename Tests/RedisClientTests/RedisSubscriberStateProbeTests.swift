import Glibc
import NIOCore
import NIOEmbedded
import Testing

@testable import RedisClient

/// The end-to-end probe of the subscriber's state machine, on embedded channels (no Redis), to the millisecond: a
/// probe every second (counted from `start()`) once the link is complete, one in flight at a time, and a link whose
/// probe is not back within 3 s, or whose publish reaches no subscriber, closed and replaced.
@Suite("Subscriber link probes (embedded channel, no Redis)")
struct RedisSubscriberStateProbeTests {
    static func publish(_ channel: String, _ sequence: Int) -> String {
        RESP.array("PUBLISH", channel, String(sequence))
    }

    /// Starts, accepts the link and confirms its probe subscription; answers the probe channel.
    static func probing(_ harness: SubscriberHarness) throws -> String {
        harness.state.start()
        try harness.accept()
        let channel = try #require(harness.state.probe?.channel)
        #expect(channel.hasPrefix("sse:probe:"))
        #expect(try harness.written() == RESP.array("SUBSCRIBE", channel))
        try harness.confirm("subscribe", [channel])
        #expect(harness.log.all == [.connected])
        return channel
    }

    @Test func aProbeGoesOutEachIntervalComesBackOnTheLinkAndNeverReachesTheCaller() throws {
        try SubscriberHarness.run(jitter: { $0.upperBound }, probeInterval: .seconds(1)) { harness in
            let channel = try Self.probing(harness)
            harness.advance(toMilliseconds: 999)
            #expect(harness.probeConnections.isEmpty)
            harness.advance(toMilliseconds: 1000)
            let probe = try #require(harness.probeConnections.first)
            #expect(try harness.written(on: probe) == Self.publish(channel, 1))
            try harness.receive(":1\r\n", on: probe)
            harness.advance(toMilliseconds: 1003)
            try harness.receive(RESP.array("message", channel, "1"))
            var link = harness.state.status.snapshot
            #expect(link.probesSent == 1)
            #expect(link.lastRoundTrip == .milliseconds(3))
            #expect(link.probeFailures == 0)
            #expect(link.isUp)
            // The caller's messages still arrive, and are the only ones it sees.
            _ = harness.request(.subscribe, ["a"])
            try harness.confirm("subscribe", ["a"])
            try harness.receive(RESP.array("message", "a", "x"))
            harness.advance(toMilliseconds: 2000)
            #expect(try harness.written(on: probe) == Self.publish(channel, 2))
            try harness.receive(RESP.array("message", channel, "2"))
            try harness.receive(":1\r\n", on: probe)
            #expect(harness.log.all == [.connected, .message(channel: "a", payload: ByteBuffer(string: "x"))])
            link = harness.state.status.snapshot
            #expect(link.probesSent == 2)
            #expect(link.messagesReceived == 1)
            #expect(link.lastRoundTrip == .zero)
            #expect(harness.probeConnections.count == 1)
        }
    }

    @Test func aProbeNotBackInTimeClosesTheLinkAtTheTimeoutAndTheNewLinkProbesAgain() throws {
        try SubscriberHarness.run(jitter: { $0.upperBound }, probeInterval: .seconds(1)) { harness in
            let channel = try Self.probing(harness)
            harness.advance(toMilliseconds: 1000)
            let probe = try #require(harness.probeConnections.first)
            #expect(try harness.written(on: probe) == Self.publish(channel, 1))
            try harness.receive(":1\r\n", on: probe)
            // Published, never delivered: no second probe while the first is out, and the link stays until 4 s.
            harness.advance(toMilliseconds: 3999)
            #expect(try harness.written(on: probe) == "")
            #expect(harness.current.isActive)
            #expect(harness.state.status.snapshot.probeFailures == 0)
            let silent = harness.current
            harness.advance(toMilliseconds: 4000)
            #expect(!silent.isActive)
            #expect(!probe.isActive)
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed)])
            var link = harness.state.status.snapshot
            #expect(link.probeFailures == 1)
            #expect(link.lastProbeFailed)
            #expect(!link.isUp)
            #expect(link.problem == "Redis link redis.test:6379 is down")

            // The usual backoff (100 ms), then the probe channel is subscribed again on the new link.
            harness.advance(toMilliseconds: 4100)
            #expect(harness.attemptTimes == [0, 4100])
            try harness.accept()
            #expect(try harness.written() == RESP.array("SUBSCRIBE", channel))
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed), .reconnected])
            #expect(harness.state.status.snapshot.problem == "Redis link redis.test:6379 failed its last probe")
            harness.advance(toMilliseconds: 5000)
            #expect(harness.probeConnections.count == 1)  // not confirmed yet: no probe
            try harness.confirm("subscribe", [channel])
            harness.advance(toMilliseconds: 6000)
            let second = try #require(harness.probeConnections.last)
            #expect(harness.probeConnections.count == 2)
            #expect(try harness.written(on: second) == Self.publish(channel, 2))
            try harness.receive(RESP.array("message", channel, "2"))
            link = harness.state.status.snapshot
            #expect(link.problem == nil)
            #expect(link.probeFailures == 1)
            #expect(link.probesSent == 2)
        }
    }

    @Test func aProbeThatReachesNoSubscriberFailsAtOnce() throws {
        try SubscriberHarness.run(jitter: { $0.upperBound }, probeInterval: .seconds(1)) { harness in
            let channel = try Self.probing(harness)
            harness.advance(toMilliseconds: 1000)
            let probe = try #require(harness.probeConnections.first)
            #expect(try harness.written(on: probe) == Self.publish(channel, 1))
            let link = harness.current
            try harness.receive(":0\r\n", on: probe)
            #expect(!link.isActive)
            #expect(harness.state.status.snapshot.probeFailures == 1)
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed)])
            #expect(harness.state.status.snapshot.lastRoundTrip == nil)
        }
    }

    /// The timeout runs from the publish: a probe connection still being opened (its own connect timeout bounds
    /// that) is not taken for a link that delivers nothing; a connect that fails is a failed probe.
    @Test func aSlowProbeConnectIsNoTimeoutAndAFailedOneFailsTheProbe() throws {
        try SubscriberHarness.run(jitter: { $0.upperBound }, probeInterval: .seconds(1), holdProbeConnects: true) {
            harness in
            _ = try Self.probing(harness)
            harness.advance(toMilliseconds: 1000)
            #expect(harness.heldProbeConnects.count == 1)
            harness.advance(toMilliseconds: 6000)
            #expect(harness.heldProbeConnects.count == 1)  // no second probe while the first is out
            #expect(harness.current.isActive)
            #expect(harness.state.status.snapshot.probeFailures == 0)
            #expect(harness.state.status.snapshot.probesSent == 1)
            let link = harness.current
            harness.heldProbeConnects.removeFirst().fail(SubscriberHarness.refused)
            harness.loop.run()
            #expect(!link.isActive)
            #expect(harness.state.status.snapshot.probeFailures == 1)
            #expect(harness.log.all == [.connected, .disconnected(SubscriberHarness.closed)])
        }
    }

    /// A probe connect this process cannot make for want of descriptors (EMFILE: a node at its open-file limit) says
    /// nothing about the link: the probe is skipped and counted, and the link is kept. Before, it was closed and
    /// replaced at every probe while the node stayed at its limit (found by `atItsFileLimitTheNodeBacksOffAndRecovers`).
    @Test func aProbeConnectOutOfDescriptorsIsSkippedAndTheLinkIsKept() throws {
        try SubscriberHarness.run(jitter: { $0.upperBound }, probeInterval: .seconds(1), holdProbeConnects: true) {
            harness in
            let channel = try Self.probing(harness)
            let link = harness.current
            let outOfDescriptors = RedisError.outOfLocalResources(
                address: "redis.test:6379", cause: "Too many open files")
            for second in 1...2 {
                harness.advance(toMilliseconds: Int64(second) * 1000)
                #expect(harness.heldProbeConnects.count == 1)
                harness.heldProbeConnects.removeFirst().fail(outOfDescriptors)
                harness.loop.run()
            }
            #expect(link.isActive)
            var report = harness.state.status.snapshot
            #expect(report.probesSent == 2)
            #expect(report.probesSkipped == 2)
            #expect(report.probeFailures == 0)
            #expect(!report.lastProbeFailed)
            #expect(report.problem == nil)
            #expect(harness.log.all == [.connected])
            // Descriptors free again: the third probe goes out on a fresh connection and comes back on the same link.
            harness.advance(toMilliseconds: 3000)
            try harness.acceptHeldProbeConnect()
            let probe = try #require(harness.probeConnections.last)
            #expect(try harness.written(on: probe) == Self.publish(channel, 3))
            try harness.receive(":1\r\n", on: probe)
            try harness.receive(RESP.array("message", channel, "3"))
            report = harness.state.status.snapshot
            #expect(report.probesSent == 3)
            #expect(report.probesSkipped == 2)
            #expect(report.lastRoundTrip == .zero)
            #expect(harness.current === link)
            #expect(harness.log.all == [.connected])
        }
    }

    /// The connect errors are told apart: only these errno values are the process's own shortage.
    @Test func outOfDescriptorsOrMemoryIsAnErrorOfItsOwn() {
        for code in [EMFILE, ENFILE, ENOBUFS, ENOMEM] {
            let error = RedisConnection.mapConnectError(
                IOError(errnoCode: code, reason: "socket"), address: "redis.test:6379", timeoutMilliseconds: 1000)
            #expect(error == .outOfLocalResources(address: "redis.test:6379", cause: String(cString: strerror(code))))
        }
        #expect(
            RedisConnection.mapConnectError(
                IOError(errnoCode: EMFILE, reason: "socket"), address: "redis.test:6379", timeoutMilliseconds: 1000
            ).description == "cannot connect to Redis at redis.test:6379: Too many open files (this process is out of"
                + " descriptors or memory)")
        #expect(
            RedisConnection.mapConnectError(
                IOError(errnoCode: EACCES, reason: "connect"), address: "redis.test:6379", timeoutMilliseconds: 1000)
                == .connectFailed(address: "redis.test:6379", cause: "Permission denied"))
    }

    /// A shard link probes with SPUBLISH on the channel its owner gives it, moves when given another, and reports an
    /// unasked `sunsubscribe` of it as a lost probe channel (not as the caller's channels dropped).
    @Test func aShardLinkProbesOnTheChannelItIsGivenAndReportsItsLoss() throws {
        try SubscriberHarness.run(jitter: { $0.upperBound }, sharded: true, probeInterval: .seconds(1)) { harness in
            var lost = 0
            harness.state.onProbeChannelLost = { lost += 1 }
            harness.state.setProbeChannel("sse:probe:x:{1}")
            harness.state.start()
            try harness.accept()
            #expect(try harness.written() == RESP.array("SSUBSCRIBE", "sse:probe:x:{1}"))
            try harness.confirm("ssubscribe", ["sse:probe:x:{1}"])
            harness.advance(toMilliseconds: 1000)
            let probe = try #require(harness.probeConnections.first)
            #expect(try harness.written(on: probe) == RESP.array("SPUBLISH", "sse:probe:x:{1}", "1"))
            try harness.receive(RESP.array("smessage", "sse:probe:x:{1}", "1"))
            #expect(harness.state.status.snapshot.lastRoundTrip == .zero)

            harness.state.setProbeChannel("sse:probe:x:{2}")
            #expect(
                try harness.written()
                    == RESP.array("SUNSUBSCRIBE", "sse:probe:x:{1}") + RESP.array("SSUBSCRIBE", "sse:probe:x:{2}"))
            try harness.confirm("sunsubscribe", ["sse:probe:x:{1}"])
            try harness.confirm("ssubscribe", ["sse:probe:x:{2}"])
            #expect(harness.state.status.snapshot.probeChannel == "sse:probe:x:{2}")
            harness.advance(toMilliseconds: 2000)
            #expect(try harness.written(on: probe) == RESP.array("SPUBLISH", "sse:probe:x:{2}", "2"))
            try harness.receive(RESP.array("smessage", "sse:probe:x:{2}", "2"))
            #expect(lost == 0)

            // The slot left this primary: the owner is told, the caller's channels are untouched, no probe goes out.
            try harness.confirm("sunsubscribe", ["sse:probe:x:{2}"])
            #expect(lost == 1)
            #expect(harness.droppedByServer.isEmpty)
            harness.advance(toMilliseconds: 3000)
            #expect(try harness.written(on: probe) == "")
            #expect(harness.log.all == [.connected])
            #expect(harness.state.status.snapshot.probeFailures == 0)
            #expect(harness.state.status.snapshot.probesSent == 2)

            // A map that still names the channel's slot here (it may lag): subscribed again, nothing to unsubscribe.
            harness.state.setProbeChannel("sse:probe:x:{2}")
            #expect(try harness.written() == RESP.array("SSUBSCRIBE", "sse:probe:x:{2}"))
            try harness.confirm("ssubscribe", ["sse:probe:x:{2}"])
            harness.advance(toMilliseconds: 4000)
            #expect(try harness.written(on: probe) == RESP.array("SPUBLISH", "sse:probe:x:{2}", "3"))
            // The same channel again while it is held: nothing to do.
            harness.state.setProbeChannel("sse:probe:x:{2}")
            #expect(try harness.written() == "")
        }
    }
}

@Suite("Shard probe channel names (no Redis)")
struct ShardProbeChannelTests {
    @Test func everySlotHasAProbeChannelThatHashesToItAndIsNoTopicChannel() {
        for value in 0..<HashSlot.count {
            let name = ShardProbeChannel.name(id: "abc", slot: HashSlot(value))
            #expect(HashSlot(key: name).value == value, "\(name)")
            #expect(name.hasPrefix("sse:probe:abc:{"))
        }
        #expect(ShardProbeChannel.name(id: "abc", slot: HashSlot(0)) == "sse:probe:abc:{\(ShardProbeChannel.tags[0])}")
        #expect(ShardProbeChannel.tags.max()! < 110_000)
    }
}
