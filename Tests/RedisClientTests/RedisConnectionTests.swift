import LocalRedis
import NIOCore
import NIOPosix
import RedisClient
import Synchronization
import Testing

@Suite("Connection against a real redis-server")
struct RedisConnectionTests {
    @Test func binaryValuesRoundTripByteForByte() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            var values: [[UInt8]] = [
                [0], [13], [10], [13, 10], Array("a\r\nb\0c".utf8), [0xff, 0xfe, 0xc3, 0x28, 0x80],
                Array("héllo → 世界 🎉".utf8), [],
            ]
            values.append((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) })
            for (index, value) in values.enumerated() {
                let key: [UInt8] = [0x6b, 0, 0xff, UInt8(index)]  // binary keys too
                #expect(try await connection.send("SET", key, value) == .status("OK"))
                let reply = try await connection.send("GET", key)
                #expect(reply.bytes == value, "value \(index) of \(value.count) bytes")
            }
        }
    }

    @Test func tenThousandPipelinedCommandsReturnInOrder() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            let commands = (0..<10_000).map { _ in RedisCommand("INCR", "counter") }
            let replies = try await connection.pipeline(commands)
            #expect(replies == (1...10_000).map { RedisReply.integer(Int64($0)) })

            // The same through single sends issued without waiting, from one thread: order is call order.
            let futures = (0..<10_000).map { connection.sendFuture(RedisCommand("ECHO", "\($0)")) }
            var echoed: [String] = []
            for future in futures { echoed.append(try await future.get().string ?? "") }
            #expect(echoed == (0..<10_000).map { "\($0)" })
        }
    }

    @Test func manyTasksShareOneConnection() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<50 {
                    group.addTask {
                        for index in 0..<100 {
                            let value = "task\(task)-\(index)"
                            let reply = try await connection.send("ECHO", value)
                            #expect(reply.string == value)
                            try await connection.send("RPUSH", "list:\(task)", value)
                        }
                    }
                }
                try await group.waitForAll()
            }
            for task in [0, 17, 49] {
                let list = try await connection.send("LRANGE", "list:\(task)", 0, -1)
                #expect(list.array?.compactMap(\.string) == (0..<100).map { "task\(task)-\($0)" })
            }
        }
    }

    @Test func errorRepliesCarryRedisOwnText() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            try await connection.send("LPUSH", "alist", "x")
            await #expect(
                throws: RedisError.server(
                    message: "WRONGTYPE Operation against a key holding the wrong kind of value")
            ) {
                try await connection.send("GET", "alist")
            }
            do {
                try await connection.send("NOSUCHCMD", "a")
                Issue.record("unknown command did not throw")
            } catch RedisError.server(let message) {
                #expect(message.hasPrefix("ERR unknown command 'NOSUCHCMD'"), "\(message)")
            }
            // In a pipeline, errors come back inline and do not disturb their neighbours.
            let replies = try await connection.pipeline([
                RedisCommand("SET", "s", "1"), RedisCommand("INCR", "alist"), RedisCommand("GET", "s"),
            ])
            #expect(replies[0] == .status("OK"))
            #expect(replies[1] == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
            #expect(replies[2].string == "1")
            #expect(try await connection.send("PING") == .status("PONG"))
        }
    }

    @Test func refusedConnectionNamesTheAddress() async throws {
        let port = try freeLoopbackPort()
        await #expect(throws: RedisError.connectionRefused(address: "127.0.0.1:\(port)")) {
            _ = try await RedisConnection.connect(configuration: RedisConfiguration(url: "redis://127.0.0.1:\(port)"))
        }
        let error = RedisError.connectionRefused(address: "127.0.0.1:\(port)")
        #expect("\(error)" == "cannot connect to Redis at 127.0.0.1:\(port): connection refused")
    }

    @Test func unresponsiveServerTimesOutNamingTheAddress() async throws {
        try await withLocalRedis { server in
            server.pause()
            defer { server.resume() }
            let configuration = try RedisConfiguration(url: server.url, connectTimeout: .milliseconds(300))
            let started = ContinuousClock.now
            await #expect(throws: RedisError.connectTimeout(address: "127.0.0.1:\(server.port)", milliseconds: 300)) {
                _ = try await RedisConnection.connect(configuration: configuration)
            }
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }

    @Test func wrongPasswordIsAnAuthenticationError() async throws {
        try await withLocalRedis(.init(password: "right-password")) { server in
            let address = "127.0.0.1:\(server.port)"
            let wrong = try RedisConfiguration(url: "redis://:wrong@127.0.0.1:\(server.port)")
            do {
                _ = try await RedisConnection.connect(configuration: wrong)
                Issue.record("connect with a wrong password succeeded")
            } catch RedisError.authenticationFailed(let failedAddress, let message) {
                #expect(failedAddress == address)
                #expect(message.hasPrefix("WRONGPASS"), "\(message)")
            }
            let missing = try RedisConfiguration(url: "redis://127.0.0.1:\(server.port)")
            do {
                _ = try await RedisConnection.connect(configuration: missing)
                Issue.record("connect without a password succeeded")
            } catch RedisError.authenticationFailed(let failedAddress, let message) {
                #expect(failedAddress == address)
                #expect(message.hasPrefix("NOAUTH"), "\(message)")
            }
            let right = try await RedisConnection.connect(configuration: server.configuration)
            #expect(try await right.send("PING") == .status("PONG"))
            right.closeNow()
        }
    }

    @Test func selectsTheDatabaseFromTheURL() async throws {
        try await withLocalRedis { server in
            let db3 = try await RedisConnection.connect(configuration: RedisConfiguration(url: server.url + "/3"))
            defer { db3.closeNow() }
            try await db3.send("SET", "where", "three")
            let db0 = try await RedisConnection.connect(configuration: server.configuration)
            defer { db0.closeNow() }
            #expect(try await db0.send("GET", "where") == .null)
            #expect(try await db3.send("GET", "where").string == "three")
            await #expect(throws: RedisError.self) {
                _ = try await RedisConnection.connect(configuration: RedisConfiguration(url: server.url + "/99"))
            }
        }
    }

    @Test func connectsOverAUnixSocket() async throws {
        let socketPath = "/tmp/redis-test-\(try freeLoopbackPort()).sock"
        try await withLocalRedis(.init(extraArguments: ["--unixsocket", socketPath, "--unixsocketperm", "700"])) { _ in
            let connection = try await RedisConnection.connect(
                configuration: RedisConfiguration(url: "unix://\(socketPath)"))
            defer { connection.closeNow() }
            #expect(try await connection.send("ECHO", "over a socket").string == "over a socket")
        }
    }

    @Test func commandsInFlightFailWhenTheServerDies() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            // BLPOP blocks server-side, so its reply is still owed when the process is killed.
            let blocked = connection.sendFuture(RedisCommand("BLPOP", "never", 0))
            try await waitUntil("BLPOP reached the server") {
                let probe = try await RedisConnection.connect(configuration: server.configuration)
                defer { probe.closeNow() }
                return try await probe.send("INFO", "clients").string?.contains("blocked_clients:1") == true
            }
            server.kill()
            await #expect(throws: RedisError.connectionClosed(address: "127.0.0.1:\(server.port)")) {
                _ = try await blocked.get()
            }
            await #expect(throws: RedisError.connectionClosed(address: "127.0.0.1:\(server.port)")) {
                try await connection.send("PING")
            }
        }
    }

    @Test func clientReconnectsAfterARestart() async throws {
        try await withLocalRedis { server in
            let client = RedisClient(configuration: server.configuration)
            try await client.send("SET", "a", "1")
            server.kill()
            await #expect(throws: RedisError.self) { try await client.send("PING") }
            try await server.restart()
            #expect(try await client.send("PING") == .status("PONG"))
            await client.close()
        }
    }
}
