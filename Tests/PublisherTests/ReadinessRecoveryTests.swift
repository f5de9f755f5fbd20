import Foundation
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

/// Issue 12, finding 5: after Redis lost its data the publisher used to stay unready until traffic arrived, which a
/// readiness-gated balancer never sends. It now checks the function libraries every second on its own.
@Suite("The publisher recovers readiness by itself after Redis lost its data (real processes)")
struct ReadinessRecoveryTests {
    /// The names of the function libraries Redis holds, asked on a connection of the test's own.
    static func libraries(_ connection: RedisConnection) async throws -> Set<String> {
        let reply = try await connection.send("FUNCTION", "LIST")
        return Set(
            (reply.array ?? []).compactMap { library in
                let fields = library.array ?? []
                let index = stride(from: 0, to: fields.count - 1, by: 2).first { fields[$0].string == "library_name" }
                return index.flatMap { fields[$0 + 1].string }
            })
    }

    @Test func theLibrariesAreReloadedWithoutTrafficAfterAFlushAndAnEmptyRestart() async throws {
        try await BoardStack.with { stack in
            let port = stack.publisher.port
            #expect((try await HTTPProbe.get(port: port, path: "/readyz")).status == 200)

            // FUNCTION FLUSH, then no request at all to the publisher: the libraries must come back on their own.
            // (Not checked empty afterwards: the publisher's watch may reload them within milliseconds.)
            #expect(try await stack.connection.send("FUNCTION", "FLUSH") == .status("OK"))
            try await waitUntil("both libraries loaded again without traffic", timeout: .seconds(3)) {
                try await Self.libraries(stack.connection) == ["sse", "board"]
            }
            let ready = try await HTTPProbe.get(port: port, path: "/readyz")
            #expect(ready.status == 200)
            #expect(ready.body == "ready\n")
            try await waitUntil("the reload logged") { stack.publisher.log.contains("function libraries reloaded") }
            #expect(stack.publisher.log.components(separatedBy: "function libraries reloaded").count - 1 == 1)

            // A restart without data on the same port: ready again within a couple of seconds of Redis answering.
            stack.redis.kill()
            try await stack.redis.restart()
            let restarted = ContinuousClock.now
            try await waitUntil("/readyz answering 200 after the empty restart", timeout: .seconds(4)) {
                (try? await HTTPProbe.get(port: port, path: "/readyz"))?.status == 200
            }
            #expect(ContinuousClock.now - restarted < .seconds(4))
            let fresh = try await RedisConnection.connect(configuration: stack.redis.configuration)
            defer { fresh.closeNow() }
            #expect(try await Self.libraries(fresh) == ["sse", "board"])
            try await waitUntil("the second reload logged") {
                stack.publisher.log.components(separatedBy: "function libraries reloaded").count - 1 == 2
            }

            // A publish right after the reload ran: 202 with the id the history holds.
            let publish = try await stack.publisher.send(
                "POST", "/publish", headers: PublishAPITests.authorized, body: #"{"topic":"news","data":"back"}"#)
            #expect(publish.status == 202)
            let entries = try await fresh.send("XRANGE", "sse:{news}:history", "-", "+").array ?? []
            #expect(entries.count == 1)
            let id = entries.first?.array?.first?.string ?? ""
            #expect(publish.body == "{\"id\":\"\(id)\",\"topic\":\"news\"}\n")
        }
    }
}
