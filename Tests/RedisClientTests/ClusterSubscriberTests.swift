import LocalRedis
import NIOCore
import NIOPosix
import RedisClient
import Testing

@Suite("Sharded pub/sub on a real Redis Cluster", .serialized)
struct ClusterSubscriberTests {
    /// SPUBLISHes `payload` through the cluster client; answers how many subscribers got it.
    static func publish(_ client: RedisClusterClient, _ channel: String, _ payload: String) async throws -> RedisReply {
        try await client.send(RedisCommand("SPUBLISH", channel, payload), key: channel)
    }

    static func subscriber(_ client: RedisClusterClient, _ log: ClusterEventLog) -> RedisClusterSubscriber {
        RedisClusterSubscriber(
            cluster: client, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), onEvent: { log.append($0) })
    }

    @Test func channelsOfEveryShardEachDeliverExactlyOnce() async throws {
        try await withCluster { cluster, client in
            let log = ClusterEventLog()
            let subscriber = Self.subscriber(client, log)
            defer { Task { await subscriber.close() } }
            let map = try await client.slotMap()
            let channels = channelsOnEveryShard(map)
            try await subscriber.subscribe(channels)
            let assignment = await subscriber.assignment()
            #expect(assignment.count == 3)
            for (channel, primary) in zip(channels, map.primaries) {
                #expect(assignment[RedisConfiguration(endpoint: primary).address] == [channel])
            }
            for channel in channels {
                #expect(try await Self.publish(client, channel, "one") == .integer(1))
            }
            for channel in channels {
                #expect(try await Self.publish(client, channel, "end") == .integer(1))
            }
            try await waitUntil("six messages", timeout: .seconds(10)) { log.messages.count >= 6 }
            for channel in channels {
                #expect(log.messages.filter { $0.hasPrefix(channel + "=") } == ["\(channel)=one", "\(channel)=end"])
            }
            #expect(log.messages.count == 6)
            let connected = log.changes.compactMap { event -> String? in
                if case .shardConnected(let address) = event { return address }
                return nil
            }
            #expect(connected.sorted() == map.primaries.map { RedisConfiguration(endpoint: $0).address }.sorted())
            #expect(log.changes.count == 3)
            #expect(client.redirectsFollowed.moved == 0)
        }
    }

    @Test func aMigratedChannelIsDroppedByRedisThenResubscribedOnItsNewPrimary() async throws {
        try await withCluster { cluster, client in
            let log = ClusterEventLog()
            let subscriber = Self.subscriber(client, log)
            defer { Task { await subscriber.close() } }
            let channels = channelsOnEveryShard(try await client.slotMap(), prefix: "moving")
            try await subscriber.subscribe(channels)
            let moving = channels[0]
            let slot = HashSlot(key: moving)
            let source = try await cluster.primaryPort(of: slot)
            let target = try await cluster.primaryPorts().first { $0 != source }!

            try await cluster.migrate(slot, to: target)
            try await waitUntil("the channel resubscribed", timeout: .seconds(15)) {
                log.contains(.resubscribed(channels: [moving]))
            }
            let sourceAddress = "127.0.0.1:\(source)"
            let targetAddress = "127.0.0.1:\(target)"
            let changes = log.changes.filter {
                if case .shardConnected = $0 { return false } else { return true }
            }
            #expect(
                changes == [
                    .unsubscribedByServer(address: sourceAddress, channels: [moving]),
                    .resubscribed(channels: [moving]),
                ])
            let assignment = await subscriber.assignment()
            #expect(assignment[targetAddress]?.contains(moving) == true)
            #expect(assignment[sourceAddress]?.contains(moving) != true)

            // Published after the move (the client follows MOVED), it arrives once; the other channels still work.
            #expect(try await Self.publish(client, moving, "after move") == .integer(1))
            for channel in channels.dropFirst() {
                #expect(try await Self.publish(client, channel, "still here") == .integer(1))
            }
            try await waitUntil("three messages", timeout: .seconds(10)) { log.messages.count >= 3 }
            #expect(log.messages.first { $0.hasPrefix(moving) } == "\(moving)=after move")
            #expect(log.messages.count == 3)
        }
    }

    @Test func aKilledPrimarysChannelsAreResubscribedOnThePromotedReplica() async throws {
        try await withCluster { cluster, client in
            let log = ClusterEventLog()
            let subscriber = Self.subscriber(client, log)
            defer { Task { await subscriber.close() } }
            let channels = channelsOnEveryShard(try await client.slotMap(), prefix: "failing")
            try await subscriber.subscribe(channels)
            let victim = channels[1]
            let oldPrimary = try await cluster.primaryPort(of: HashSlot(key: victim))
            let replica = try await client.slotMap().shard(for: HashSlot(key: victim))!.replicas[0].endpoint.port

            let promoted = try await cluster.killPrimary(port: oldPrimary)
            #expect(promoted == replica)
            try await waitUntil("the channel resubscribed on the promoted replica", timeout: .seconds(20)) {
                log.contains(.resubscribed(channels: [victim]))
            }
            #expect(
                log.changes.contains { event in
                    if case .shardDisconnected(let address, _) = event { return address == "127.0.0.1:\(oldPrimary)" }
                    return false
                })
            let assignment = await subscriber.assignment()
            #expect(assignment["127.0.0.1:\(promoted)"] == [victim])
            #expect(assignment["127.0.0.1:\(oldPrimary)"] == nil)

            #expect(try await Self.publish(client, victim, "after failover") == .integer(1))
            try await waitUntil("the message after the failover", timeout: .seconds(10)) {
                log.messages.contains("\(victim)=after failover")
            }
            #expect(log.messages == ["\(victim)=after failover"])
        }
    }

    @Test func aDemotedPrimarysChannelsAreDroppedByRedisThenResubscribedOnTheNewPrimary() async throws {
        try await withCluster { cluster, client in
            let log = ClusterEventLog()
            let subscriber = Self.subscriber(client, log)
            defer { Task { await subscriber.close() } }
            let channels = channelsOnEveryShard(try await client.slotMap(), prefix: "demoted")
            try await subscriber.subscribe(channels)
            let victim = channels[2]
            let shard = try await client.slotMap().shard(for: HashSlot(key: victim))!
            let oldPrimary = shard.primary.endpoint.port
            let replica = shard.replicas[0].endpoint.port

            try await cluster.failover(replicaPort: replica)
            try await waitUntil("the channel resubscribed on the new primary", timeout: .seconds(20)) {
                log.contains(.resubscribed(channels: [victim]))
            }
            let changes = log.changes.filter {
                if case .shardConnected = $0 { return false } else { return true }
            }
            #expect(
                Array(changes.prefix(2)) == [
                    .unsubscribedByServer(address: "127.0.0.1:\(oldPrimary)", channels: [victim]),
                    .resubscribed(channels: [victim]),
                ])
            // A map read from a node that has not heard of the hand-over yet may move the channel back for a moment
            // (Redis answers MOVED and it returns); the assignment settles on the new primary.
            do {
                try await waitUntil("the channel held on the new primary", timeout: .seconds(10)) {
                    await subscriber.assignment()["127.0.0.1:\(replica)"] == [victim]
                }
            } catch {
                Issue.record("\(error); assignment \(await subscriber.assignment()); changes \(log.changes)")
                throw error
            }
            #expect(try await Self.publish(client, victim, "after hand-over") == .integer(1))
            try await waitUntil("the message after the hand-over", timeout: .seconds(10)) { !log.messages.isEmpty }
            #expect(log.messages == ["\(victim)=after hand-over"])
        }
    }

    @Test func aFunctionPublishesItsOwnSlotsChannelThroughTheClusterClient() async throws {
        try await withCluster { cluster, client in
            let log = ClusterEventLog()
            let subscriber = Self.subscriber(client, log)
            defer { Task { await subscriber.close() } }
            let channel = "sse:{fn}:events"
            try await subscriber.subscribe([channel])
            try await client.loadOnEveryPrimary(ClusterClientTests.library)
            let reply = try await client.routed(key: channel).fcall("spub", keys: [channel], arguments: ["from lua"])
            #expect(reply == .integer(1))
            try await waitUntil("the function's message", timeout: .seconds(10)) { !log.messages.isEmpty }
            #expect(log.messages == ["\(channel)=from lua"])
        }
    }
}
