import LocalRedis
import RedisClient
import Testing

@Suite("Functions and scripts against a real redis-server")
struct RedisScriptingTests {
    static let library = RedisFunctionLibrary(
        name: "testlib",
        source: """
            #!lua name=testlib
            redis.register_function('append_and_count', function(keys, args)
              redis.call('RPUSH', keys[1], args[1])
              return redis.call('LLEN', keys[1])
            end)
            """)

    @Test func loadsAndCallsAFunctionAndReloadsItWhenMissing() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            try await connection.load(Self.library)
            try await connection.load(Self.library)  // idempotent
            #expect(try await connection.fcall("append_and_count", keys: ["l"], arguments: ["a"]) == .integer(1))

            try await connection.send("FUNCTION", "FLUSH")
            await #expect(throws: RedisError.self) {
                _ = try await connection.fcall("append_and_count", keys: ["l"], arguments: ["b"])
            }
            let reply = try await connection.fcall(
                "append_and_count", keys: ["l"], arguments: ["c"], loadingIfMissing: Self.library)
            #expect(reply == .integer(2))
            #expect(try await connection.send("LRANGE", "l", 0, -1).array?.compactMap(\.string) == ["a", "c"])
        }
    }

    @Test func evalshaFallsBackToLoadingOnNoscript() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            let script = RedisScript("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}")
            let first = try await connection.evaluate(script, keys: ["n"], arguments: ["x"])
            #expect(first.array?.count == 3)
            #expect(first.array?[2] == .integer(1))
            let sha = try #require(script.loadedSHA)
            try await connection.send("SCRIPT", "FLUSH")
            let second = try await connection.evaluate(script, keys: ["n"], arguments: ["y"])
            #expect(second.array?[1].string == "y")
            #expect(second.array?[2] == .integer(2))
            #expect(script.loadedSHA == sha)
        }
    }
}
