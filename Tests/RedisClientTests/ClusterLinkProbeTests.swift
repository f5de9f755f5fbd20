import LocalRedis
import NIOCore
import NIOPosix
import RedisClient
import Testing

@Suite("Shard link probes on a real Redis Cluster", .serialized)
struct ClusterLinkProbeTests {
    /// Three primaries without replicas and a 30 s node timeout: a primary frozen for a few seconds stays the
    /// primary of its slots (no failover moves its channels), so its link must be reported down on its own.
    @Test func everyShardLinkProbesItselfAndAFrozenPrimaryIsReportedAlone() async throws {
        var clusterOptions = LocalRedisCluster.Options(primaries: 3, replicasPerPrimary: 0)
        clusterOptions.nodeTimeout = .seconds(30)
        let cluster = try await LocalRedisCluster.start(clusterOptions)
        defer { cluster.stop() }
        var clientOptions = RedisClusterClient.Options()
        clientOptions.refreshInterval = .seconds(60)
        var template = cluster.configuration
        template.connectTimeout = .milliseconds(500)
        let client = RedisClusterClient(seeds: cluster.seeds, configuration: template, options: clientOptions)
        try await client.start()
        var options = RedisClusterSubscriber.Options()
        options.link = RedisSubscriberProbeTests.probingOptions()
        let log = ClusterEventLog()
        let subscriber = RedisClusterSubscriber(
            cluster: client, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), options: options,
            onEvent: { log.append($0) })

        let map = try await client.slotMap()
        let channels = channelsOnEveryShard(map, prefix: "probed")
        try await subscriber.subscribe(channels)
        let addresses = map.primaries.map { RedisConfiguration(endpoint: $0).address }.sorted()
        try await waitUntil("three probes back on every link") {
            let links = subscriber.links
            return links.map(\.address) == addresses
                && links.allSatisfy { $0.probesSent >= 3 && $0.lastRoundTrip != nil }
        }
        for link in subscriber.links {
            let probeChannel = try #require(link.probeChannel)
            #expect(probeChannel.hasPrefix("sse:probe:"))
            let owner = try #require(map.primary(for: HashSlot(key: probeChannel)))
            #expect(RedisConfiguration(endpoint: owner).address == link.address, "\(probeChannel) on \(link.address)")
            #expect(link.isUp)
            #expect(link.probeFailures == 0)
        }

        let frozen = map.primaries[0]
        let frozenAddress = RedisConfiguration(endpoint: frozen).address
        let before = Dictionary(uniqueKeysWithValues: subscriber.links.map { ($0.address, $0.probesSent) })
        let failedBefore = Dictionary(uniqueKeysWithValues: subscriber.links.map { ($0.address, $0.probeFailures) })
        cluster.pause(port: frozen.port)
        do {
            try await waitUntil("the frozen primary's link failed", timeout: .seconds(6)) {
                let link = subscriber.links.first { $0.address == frozenAddress }
                return link?.probeFailures == failedBefore[frozenAddress]! + 1 && link?.isUp == false
            }
            try await waitUntil("the others probed three more times") {
                subscriber.links.filter { $0.address != frozenAddress }.allSatisfy {
                    $0.probesSent >= before[$0.address]! + 3
                }
            }
            let links = subscriber.links
            #expect(links.count == 3)
            for link in links {
                if link.address == frozenAddress {
                    #expect(!link.isUp)
                    #expect(link.lastProbeFailed)
                    #expect(link.problem == "Redis link \(frozenAddress) is down")
                } else {
                    #expect(link.isUp)
                    #expect(link.probeFailures == failedBefore[link.address])
                    #expect(link.problem == nil)
                }
            }
            #expect(log.contains(.shardDisconnected(address: frozenAddress, .connectionClosed(address: frozenAddress))))
        } catch {
            cluster.resume(port: frozen.port)
            throw error
        }
        cluster.resume(port: frozen.port)

        try await waitUntil("the thawed link up with a probe back", timeout: .seconds(15)) {
            let link = subscriber.links.first { $0.address == frozenAddress }
            return link?.isUp == true && link?.lastProbeFailed == false
        }
        #expect(log.contains(.shardReconnected(address: frozenAddress, channels: [channels[0]])))
        #expect(
            try await client.send(RedisCommand("SPUBLISH", channels[0], "after"), key: channels[0]) == .integer(1))
        try await waitUntil("the message after the thaw") { log.messages == ["\(channels[0])=after"] }
        #expect(subscriber.links.allSatisfy { $0.problem == nil })
        await subscriber.close()
        #expect(subscriber.links.isEmpty)
        await client.close()
    }

    /// The probe channel lives in the first slot its primary serves; when that slot migrates, Redis drops the
    /// channel, and the link takes one of a slot its primary still serves, with no probe counted as failed.
    @Test func aShardLinksProbeChannelFollowsItsSlotWhenTheSlotMigrates() async throws {
        try await withCluster { cluster, client in
            var options = RedisClusterSubscriber.Options()
            options.link = RedisSubscriberProbeTests.probingOptions()
            let log = ClusterEventLog()
            let subscriber = RedisClusterSubscriber(
                cluster: client, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), options: options,
                onEvent: { log.append($0) })
            let map = try await client.slotMap()
            try await subscriber.subscribe(channelsOnEveryShard(map, prefix: "migrating"))
            try await waitUntil("a probe back on every link") {
                let links = subscriber.links
                return links.count == 3 && links.allSatisfy { $0.lastRoundTrip != nil }
            }
            let source = map.primaries[0]
            let address = RedisConfiguration(endpoint: source).address
            let before = try #require(subscriber.links.first { $0.address == address }?.probeChannel)
            let slot = HashSlot(key: before)
            #expect(slot.value == map.shard(for: slot)?.slotRanges.first?.lowerBound)
            try await cluster.migrate(slot, to: map.primaries[1].port)

            try await waitUntil("the probe channel moved and probes come back", timeout: .seconds(15)) {
                guard let link = subscriber.links.first(where: { $0.address == address }),
                    let channel = link.probeChannel, channel != before
                else { return false }
                return HashSlot(key: channel).value == slot.value + 1 && link.lastRoundTrip != nil
                    && !link.lastProbeFailed
            }
            let moved = try #require(subscriber.links.first { $0.address == address })
            let sentAfterMove = moved.probesSent
            try await waitUntil("three more probes on the moved channel") {
                (subscriber.links.first { $0.address == address }?.probesSent ?? 0) >= sentAfterMove + 3
            }
            let fresh = try await client.refreshSlotMap()
            for link in subscriber.links {
                let channel = try #require(link.probeChannel)
                let owner = try #require(fresh.primary(for: HashSlot(key: channel)))
                #expect(RedisConfiguration(endpoint: owner).address == link.address, "\(channel) on \(link.address)")
                #expect(link.probeFailures == 0, "\(link.address)")
                #expect(link.isUp)
            }
            #expect(!log.changes.contains { if case .shardDisconnected = $0 { true } else { false } })
            await subscriber.close()
        }
    }
}
