import LocalRedis
import NIOCore
import NIOPosix
import RedisClient
import Synchronization
import Testing

/// `RedisConnector` on a Redis Cluster: any-node connections for the control channel (seeds tried in turn, a clear
/// error naming each) and connections to one slot's primary that follow the slot when it moves.
@Suite("Redis Cluster connections through RedisConnector", .serialized)
struct ClusterConnectorTests {
    @Test func anyNodeConnectionsTryEachSeedAndHearAClassicPublishFromAnotherNode() async throws {
        let cluster = try await LocalRedisCluster.start(.init(primaries: 3, replicasPerPrimary: 0))
        defer { cluster.stop() }
        let dead = try freeLoopbackPort()
        let seeds = ClusterSeeds(
            seeds: [RedisHostPort(host: "127.0.0.1", port: dead)]
                + cluster.nodes.suffix(1).map { RedisHostPort(host: "127.0.0.1", port: $0.port) },
            connectTimeout: .seconds(2))
        let connector = RedisConnector(topology: .cluster(seeds))
        let connection = try await connector.connect()
        #expect(try await connection.send("PING") == .status("PONG"))
        #expect(connection.configuration.address == "127.0.0.1:\(cluster.nodes.last!.port)")
        await connection.close()

        // A classic SUBSCRIBE through the connector hears a classic PUBLISH sent to another node.
        let heard = Mutex<[String]>([])
        let subscriber = RedisSubscriber(connector: connector, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        { event in
            if case .message(let channel, let payload) = event {
                heard.withLock { $0.append("\(channel)=\(String(buffer: payload))") }
            }
        }
        subscriber.start()
        try await subscriber.subscribe(["sse:control"])
        _ = try await cluster.command(cluster.nodes[0].port, ["PUBLISH", "sse:control", "hello"])
        try await waitUntil("the control message") { !heard.withLock { $0.isEmpty } }
        #expect(heard.withLock { $0 } == ["sse:control=hello"])
        await subscriber.close()

        // Nothing answers: one error naming every address tried.
        let other = try freeLoopbackPort()
        let nowhere = RedisConnector(
            topology: .cluster(
                ClusterSeeds(
                    seeds: [
                        RedisHostPort(host: "127.0.0.1", port: dead), RedisHostPort(host: "127.0.0.1", port: other),
                    ],
                    connectTimeout: .seconds(1))))
        do {
            _ = try await nowhere.connect()
            Issue.record("connected to a cluster of dead seeds")
        } catch let error as RedisError {
            guard case .connectFailed(let address, let cause) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(address.contains("tried 127.0.0.1:\(dead), 127.0.0.1:\(other)"), "\(address)")
            #expect(cause.contains("127.0.0.1:\(dead): ") && cause.contains("127.0.0.1:\(other): "), "\(cause)")
        }
    }

    @Test func slotConnectionsGoToTheSlotsPrimaryAndToTheNewOwnerAfterAMigration() async throws {
        let cluster = try await LocalRedisCluster.start(.init(primaries: 3, replicasPerPrimary: 0))
        defer { cluster.stop() }
        let client = RedisClusterClient(seeds: cluster.seeds, configuration: cluster.configuration)
        try await client.start()
        let key = "board:{board}:published"
        let connector = RedisConnector(cluster: client, slotOf: key)
        let slot = HashSlot(key: key)
        let owner = try await cluster.primaryPort(of: slot)
        let connection = try await connector.connect()
        #expect(connection.configuration.address == "127.0.0.1:\(owner)")
        #expect(try await connection.send("SET", key, "1") == .status("OK"))
        await connection.close()

        let target = try await cluster.primaryPorts().first { $0 != owner }!
        try await cluster.migrate(slot, to: target)
        try await client.refreshSlotMap()
        let moved = try await connector.connect()
        #expect(moved.configuration.address == "127.0.0.1:\(target)")
        #expect(try await moved.send("GET", key).string == "1")
        await moved.close()

        // Any-node connections of the client prefer its map's primaries.
        let anyNode = try await RedisConnector(cluster: client).connect()
        #expect(
            try await client.slotMap().primaries.map { "\(RedisConfiguration(endpoint: $0).address)" }
                .contains(anyNode.configuration.address))
        await anyNode.close()
        await client.close()
    }
}
