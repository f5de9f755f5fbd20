import LocalRedis
import Logging
import NIOCore
import NIOPosix
import RedisClient
import Testing

@Suite("Subscriber link probes on a real Sentinel group")
struct SentinelLinkProbeTests {
    /// The probe connection comes from the same connector as the link, so after `SENTINEL FAILOVER` both are on
    /// the new master: the probe channel is subscribed there (and no longer on the old master) and probes come back.
    @Test func afterAFailoverTheLinkProbesItselfOnTheNewMaster() async throws {
        let group = try await LocalSentinelGroup.start()
        defer { group.stop() }
        let old = group.servers[0]
        let connector = RedisConnector(topology: group.topology, logger: SentinelFailoverTests.quiet)
        let log = EventLog()
        let subscriber = RedisSubscriber(
            connector: connector, eventLoop: MultiThreadedEventLoopGroup.singleton.any(),
            options: RedisSubscriberProbeTests.probingOptions(), logger: SentinelFailoverTests.quiet,
            onEvent: { log.append($0) })
        subscriber.start()
        try await subscriber.subscribe(["news"])
        try await waitUntil("three probes back") {
            let link = subscriber.links[0]
            return link.probesSent >= 3 && link.lastRoundTrip != nil
        }
        let probeChannel = try #require(subscriber.links[0].probeChannel)
        #expect(subscriber.links[0].address == connector.address)
        #expect(try await SentinelFailoverTests.subscribers(of: probeChannel, on: old) == 1)

        try await group.failover()
        let new = try await group.waitForNewMaster(replacing: old.port)
        try await waitUntil("resubscribed on the new master", timeout: .seconds(10)) { log.reconnectedCount == 1 }
        let sentAtMove = subscriber.links[0].probesSent
        try await waitUntil("three probes back after the move") {
            let link = subscriber.links[0]
            return link.isUp && !link.lastProbeFailed && link.probesSent >= sentAtMove + 3
        }
        #expect(try await SentinelFailoverTests.subscribers(of: probeChannel, on: new) == 1)
        #expect(try await SentinelFailoverTests.subscribers(of: probeChannel, on: old) == 0)
        #expect(try await SentinelFailoverTests.command(new, "PUBLISH", "news", "after") == .integer(1))
        try await waitUntil("the message from the new master") { log.messages == ["after"] }
        #expect(subscriber.links[0].messagesReceived == 1)
        await subscriber.close()
        await connector.close()
    }
}
