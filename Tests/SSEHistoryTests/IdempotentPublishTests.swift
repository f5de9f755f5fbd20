import LocalRedis
import RedisClient
import SSEHistory
import SSEProtocol
import Testing

/// `sse_publish` with an idempotency key (a third key, `sse:{T}:idem:<key>`, and a fifth argument, the window in
/// seconds): a repeat within the window answers the first id and publishes nothing. Called with raw `FCALL`s here,
/// as any Redis client would.
@Suite("sse_publish with an idempotency key against a real redis-server")
struct IdempotentPublishTests {
    static func fcall(_ connection: RedisConnection, _ arguments: [any RedisArgument]) async throws -> RedisReply {
        try await connection.send(RedisCommand("FCALL", arguments: ["sse_publish"] + arguments))
    }

    static func keyed(_ topic: String, key: String, data: String, window: Int = 60) -> [any RedisArgument] {
        [
            3, "sse:{\(topic)}:history", "sse:clock", "sse:{\(topic)}:idem:\(key)", "sse:{\(topic)}", 100, "", data,
            window,
        ]
    }

    @Test func aRepeatAnswersTheFirstIDAndPublishesNothingWhileOldCallsKeepWorking() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            try await History(runner: connection).install()

            let old = try await Self.fcall(
                connection, [2, "sse:{news}:history", "sse:clock", "sse:{news}", 100, "", "0"])
            let oldID = try #require(old.string)
            let first = try await Self.fcall(connection, Self.keyed("news", key: "k", data: "1"))
            let firstID = try #require(first.array?.first?.string)
            #expect(first.array?.last?.int == 0)
            #expect(firstID > oldID)
            let clock = try await connection.send("HGET", "sse:clock", "last").string

            let repeated = try await Self.fcall(connection, Self.keyed("news", key: "k", data: "2"))
            #expect(repeated.array?.first?.string == firstID)
            #expect(repeated.array?.last?.int == 1)
            #expect(try await connection.send("XLEN", "sse:{news}:history").int == 2)
            #expect(try await connection.send("HGET", "sse:clock", "last").string == clock)
            #expect(try await connection.send("GET", "sse:{news}:idem:k").string == firstID)
            let ttl = try await connection.send("TTL", "sse:{news}:idem:k").int ?? -9
            #expect((1...60).contains(ttl))

            let other = try await Self.fcall(connection, Self.keyed("sport", key: "k", data: "1"))
            #expect(other.array?.last?.int == 0)
            #expect((other.array?.first?.string ?? "") > firstID)
            let after = try await Self.fcall(
                connection, [2, "sse:{news}:history", "sse:clock", "sse:{news}", 100, "", "3"])
            #expect((after.string ?? "") > (other.array?.first?.string ?? ""))
        }
    }

    @Test func aKeyOutsideTheTopicOrABadWindowIsRefusedAndChangesNothing() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            try await History(runner: connection).install()
            let cases: [([any RedisArgument], String)] = [
                (
                    [3, "sse:{news}:history", "sse:clock", "sse:{sport}:idem:k", "sse:{news}", 100, "", "d", 60],
                    "ERR sse_publish: idempotency key \"sse:{sport}:idem:k\" is not sse:{news}:idem:<key>"
                ),
                (
                    [3, "sse:{news}:history", "sse:clock", "sse:{news}:idem:", "sse:{news}", 100, "", "d", 60],
                    "ERR sse_publish: idempotency key \"sse:{news}:idem:\" is not sse:{news}:idem:<key>"
                ),
                (
                    [3, "sse:{news}:history", "sse:clock", "sse:{news}:idem:k", "sse:{news}", 100, "", "d", 0],
                    "ERR sse_publish: window \"0\" is not a positive number of seconds"
                ),
                (
                    [3, "sse:{news}:history", "sse:clock", "sse:{news}:idem:k", "sse:{news}", 100, "", "d"],
                    "ERR sse_publish expects 3 keys (history stream, clock, idempotency key) and 5 arguments "
                        + "(channel, maxlen, event, data, window seconds), found 3 keys and 4 arguments"
                ),
            ]
            for (arguments, message) in cases {
                do {
                    let reply = try await Self.fcall(connection, arguments)
                    Issue.record("expected an error reply, got \(reply)")
                } catch RedisError.server(let found) {
                    #expect(found == message)
                }
            }
            #expect(
                try await connection.send("EXISTS", "sse:{news}:history", "sse:clock", "sse:{news}:idem:k").int == 0)
        }
    }
}
