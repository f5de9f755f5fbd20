import LocalRedis
import Logging
import NIOCore
import NIOPosix
import RedisClient
import Testing

/// Real Sentinel groups (a master, a replica, three sentinels on loopback): discovery, `SENTINEL FAILOVER`, `kill -9`
/// of the master, and `READONLY` from a demoted master.
@Suite("Sentinel discovery and failover against real redis-server sentinels", .serialized)
struct SentinelFailoverTests {
    static let quiet = Logger(label: "test.sentinel") { _ in SwiftLogNoOpLogHandler() }

    static func subscriber(_ connector: RedisConnector, log: EventLog) -> RedisSubscriber {
        var options = RedisSubscriber.Options()
        options.initialBackoff = .milliseconds(20)
        options.maximumBackoff = .milliseconds(200)
        return RedisSubscriber(
            connector: connector, eventLoop: MultiThreadedEventLoopGroup.singleton.any(), options: options,
            logger: quiet, onEvent: { log.append($0) })
    }

    static func command(_ server: LocalRedisServer, _ arguments: String...) async throws -> RedisReply {
        let connection = try await RedisConnection.connect(configuration: server.configuration)
        defer { connection.closeNow() }
        return try await connection.send(RedisCommand(arguments[0], arguments: Array(arguments.dropFirst())))
    }

    /// Subscribers of `channel` on `server` (`PUBSUB NUMSUB`).
    static func subscribers(of channel: String, on server: LocalRedisServer) async throws -> Int64? {
        try await command(server, "PUBSUB", "NUMSUB", channel).array?.last?.int
    }

    @Test func theClientFindsTheMasterThroughTheSentinelsAndErrorsNameTheSentinelsTried() async throws {
        let group = try await LocalSentinelGroup.start()
        defer { group.stop() }
        let connector = RedisConnector(topology: group.topology, logger: Self.quiet)
        let client = RedisClient(connector: connector, logger: Self.quiet)
        try await client.send("SET", "greeting", "hello")
        #expect(try await client.send("ROLE").array?.first?.string == "master")
        #expect(try await Self.command(group.servers[0], "GET", "greeting").string == "hello")
        #expect(connector.currentMaster == RedisHostPort(host: "127.0.0.1", port: group.servers[0].port))
        await client.close()
        await connector.close()

        // A name no sentinel monitors, and sentinels nobody listens on: the error names each sentinel tried.
        let unknown = RedisConnector(
            topology: try RedisTopology(url: "redis-sentinel://127.0.0.1:\(group.sentinelPorts[1])/nobody"),
            logger: Self.quiet)
        await #expect(
            throws: RedisError.sentinelFailed(
                masterName: "nobody",
                reason: "no sentinel named it (127.0.0.1:\(group.sentinelPorts[1]): does not monitor it)")
        ) { try await unknown.connect(logger: Self.quiet) }
        let ports = [try freeLoopbackPort(), try freeLoopbackPort()]
        let dead = RedisConnector(
            topology: try RedisTopology(url: "redis-sentinel://127.0.0.1:\(ports[0]),127.0.0.1:\(ports[1])/sse"),
            logger: Self.quiet)
        await #expect(
            throws: RedisError.sentinelFailed(
                masterName: "sse",
                reason: "no sentinel named it (127.0.0.1:\(ports[0]): cannot connect to Redis at "
                    + "127.0.0.1:\(ports[0]): connection refused; 127.0.0.1:\(ports[1]): cannot connect to Redis at "
                    + "127.0.0.1:\(ports[1]): connection refused)")
        ) { try await dead.connect(logger: Self.quiet) }
    }

    @Test func afterSentinelFailoverCommandsTransactionsAndTheSubscriberMoveAtOnceToTheNewMaster() async throws {
        let group = try await LocalSentinelGroup.start()
        defer { group.stop() }
        let old = group.servers[0]
        let connector = RedisConnector(topology: group.topology, logger: Self.quiet)
        let client = RedisClient(connector: connector, logger: Self.quiet)
        let transactions = TransactionConnection(connector: connector, timeout: .seconds(5), logger: Self.quiet)
        let log = EventLog()
        let subscriber = Self.subscriber(connector, log: log)
        subscriber.start()
        try await subscriber.subscribe(["news"])
        try await waitUntil("the subscriber connected") { log.connectedCount == 1 }
        try await client.send("SET", "before", "1")
        // Replicated before the failover (replication is asynchronous: an unreplicated write would be lost).
        #expect(try await client.send("WAIT", 1, 5000) == .integer(1))
        let transactionConnection = try await transactions.run("PING") { connection in
            try await connection.send("PING")
            return connection
        }
        let commandConnection = try await client.connection()
        #expect(try await Self.subscribers(of: "news", on: old) == 1)

        try await group.failover()
        let new = try await group.waitForNewMaster(replacing: old.port)
        #expect(new.port == group.servers[1].port)
        // The watch saw +switch-master and closed every connection to the old master, which sentinels leave a
        // master for seconds after a manual failover: nothing on its side would have told the connections.
        try await waitUntil("the connections to the old master closed", timeout: .seconds(5)) {
            !commandConnection.isActive && !transactionConnection.isActive && log.reconnectedCount == 1
        }
        #expect(try await LocalSentinelGroup.role(of: old) == "master")
        #expect(log.disconnectedCount == 1)
        #expect(try await Self.subscribers(of: "news", on: new) == 1)
        #expect(try await Self.subscribers(of: "news", on: old) == 0)

        try await client.send("SET", "after", "2")
        #expect(try await client.send("ROLE").array?.first?.string == "master")
        #expect(try await client.connection().configuration.endpoint == .tcp(host: "127.0.0.1", port: new.port))
        #expect(try await Self.command(new, "GET", "after").string == "2")
        #expect(try await Self.command(new, "GET", "before").string == "1")
        let counted = try await transactions.run("INCR") { try await $0.send("INCR", "counter").int }
        #expect(counted == 1)
        #expect(try await Self.command(new, "GET", "counter").string == "1")

        #expect(try await Self.command(new, "PUBLISH", "news", "from the new master") == .integer(1))
        try await waitUntil("the message from the new master") { log.messages == ["from the new master"] }
        #expect(connector.currentMaster == RedisHostPort(host: "127.0.0.1", port: new.port))
        await subscriber.close()
        await transactions.close()
        await client.close()
        await connector.close()
    }

    @Test func afterKillMinus9OfTheMasterTheClientAndTheSubscriberFollowThePromotedReplica() async throws {
        let group = try await LocalSentinelGroup.start()
        defer { group.stop() }
        let old = group.servers[0]
        let connector = RedisConnector(topology: group.topology, logger: Self.quiet)
        let client = RedisClient(connector: connector, logger: Self.quiet)
        let log = EventLog()
        let subscriber = Self.subscriber(connector, log: log)
        subscriber.start()
        try await subscriber.subscribe(["news"])
        try await waitUntil("the subscriber connected") { log.connectedCount == 1 }
        try await client.send("SET", "before", "1")
        // Written to the replica too before the kill, so the promoted replica holds it.
        #expect(try await client.send("WAIT", 1, 5000) == .integer(1))

        old.kill()
        let new = try await group.waitForNewMaster(replacing: old.port)
        #expect(new.port == group.servers[1].port)
        // The first commands after the kill fail (the old connection closed; the sentinels still name the dead
        // master until they fail over); then one goes to the promoted replica.
        try await waitUntil("a write to succeed", timeout: .seconds(10), every: .milliseconds(50)) {
            (try? await client.send("SET", "after", "2")) != nil
        }
        #expect(try await client.send("ROLE").array?.first?.string == "master")
        #expect(try await Self.command(new, "GET", "after").string == "2")
        #expect(try await Self.command(new, "GET", "before").string == "1")
        try await waitUntil("the subscriber resubscribed", timeout: .seconds(10)) { log.reconnectedCount == 1 }
        #expect(try await Self.subscribers(of: "news", on: new) == 1)
        #expect(try await Self.command(new, "PUBLISH", "news", "after the kill") == .integer(1))
        try await waitUntil("the message after the kill") { log.messages == ["after the kill"] }
        await subscriber.close()
        await client.close()
        await connector.close()
    }

    @Test func aREADONLYReplyClosesTheConnectionAndTheNextConnectRefusesAServerThatIsNotMaster() async throws {
        // Sentinels slow to call anything down, so the demotion by hand below stays in place for the test.
        let group = try await LocalSentinelGroup.start(downAfter: .seconds(60))
        defer { group.stop() }
        let master = group.servers[0]
        let replica = group.servers[1]
        let connector = RedisConnector(topology: group.topology, logger: Self.quiet)
        let client = RedisClient(connector: connector, logger: Self.quiet)
        try await client.send("SET", "before", "1")
        let connection = try await client.connection()

        // Demoted behind the sentinels' back: the connection stays open, writes answer READONLY.
        _ = try await Self.command(replica, "REPLICAOF", "NO", "ONE")
        _ = try await Self.command(master, "REPLICAOF", "127.0.0.1", String(replica.port))
        await #expect(throws: RedisError.server(message: "READONLY You can't write against a read only replica.")) {
            try await client.send("SET", "after", "2")
        }
        try await waitUntil("the connection closed after READONLY") { !connection.isActive }

        // The sentinels still name the demoted server; ROLE says it is a replica, so no connection is handed out.
        let attempt = "127.0.0.1:\(master.port) named as master has the role slave"
        await #expect(
            throws: RedisError.sentinelFailed(
                masterName: "sse",
                reason: "tried sentinels " + group.sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",")
                    + ", no usable master (\(Array(repeating: attempt, count: 4).joined(separator: "; ")))")
        ) { try await client.send("SET", "after", "2") }
        await client.close()
        await connector.close()
    }
}
