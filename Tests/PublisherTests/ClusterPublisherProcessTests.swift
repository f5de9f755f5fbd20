import Foundation
import LocalRedis
import RedisClient
import SSEAuth
import SSEHistory
import SSEProtocol
import SSETestSupport
import Testing

/// The `sse-publisher` process on a `redis-cluster://` URL with scoped publish tokens: its library watch loads both
/// libraries on every primary (it is ready only then) and reloads them on a primary that lost them, and its
/// revocation watch, subscribed to `sse:control` on any node, hears a revocation run on another shard; a poster's
/// notice goes to the shard of their own topic.
@Suite("The sse-publisher process on a Redis Cluster", .serialized)
struct ClusterPublisherProcessTests {
    static let secret = "a-cluster-test-secret-of-at-least-32-bytes"

    static func port(_ endpoint: RedisConfiguration.Endpoint) -> Int {
        if case .tcp(_, let port) = endpoint { return port }
        return 0
    }

    @Test func librariesOnEveryPrimaryARevocationOnAnyShardAndANoticeOnTheVisitorsShard() async throws {
        let redis = try await LocalRedisCluster.start(.init(primaries: 3, replicasPerPrimary: 0))
        defer { redis.stop() }
        let url = "redis-cluster://" + redis.nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
        let secretFile = NSTemporaryDirectory() + "cluster-tokens-\(getpid())-\(redis.nodes[0].port).secret"
        try Data((Self.secret + "\n").utf8).write(to: URL(fileURLWithPath: secretFile))
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        let key = "demo=HS256:\(secretFile)"
        // Ready only once both libraries are on every primary.
        let publisher = try await PublisherProcess.start(
            redisURL: url, arguments: ["--token-key", key, "--token-signing-key", key])
        let map = try await redis.slotMap()
        for endpoint in map.primaries {
            let list = try await redis.command(Self.port(endpoint), ["FUNCTION", "LIST"])
            #expect(list.array?.count == 2, "both libraries on \(endpoint)")
        }

        let token = try await TokenMinter(signingKey: KeySpec(keyID: "demo", algorithm: .hs256, path: secretFile))
            .mint(
                subject: "svc",
                grants: Grants(subscribe: TopicPatterns([]), publish: try TopicPatterns(validating: ["*"])),
                lifetime: .seconds(300), tokenID: nil, issuer: nil, audience: nil, now: Date(timeIntervalSinceNow: -5))
        func publish() async throws -> HTTPProbe.Response {
            try await publisher.send(
                "POST", "/publish",
                headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                body: #"{"topic":"alerts","data":"hi"}"#)
        }
        // 503 until the revocations are loaded through the control subscription on some node, then 202.
        try await waitUntil("a scoped publish is accepted") { try await publish().status == 202 }

        let cluster = RedisClusterClient(seeds: redis.seeds, configuration: redis.configuration)
        let history = History(cluster: cluster)
        _ = try await history.revoke(ControlMessage.Revocation(target: .subject("svc"), reason: "test"))
        try await waitUntil("the revocation reached the publisher") { try await publish().status == 401 }
        let refused = try await publish()
        #expect(refused.body == "access token has been revoked\n")

        // A visitor's post: the board renders on the {board} shard, the poster's notice goes to the shard of
        // their own topic (visitor.<id>), with that topic's clock.
        let (visitor, visitorToken) = try VisitorTokenTests.cookies(
            of: try await HTTPProbe.get(port: publisher.port, path: "/"))
        let posted = try await publisher.postForm(
            "/add_post", [("text", "from a visitor")],
            headers: [("Cookie", "sse_visitor=\(visitor); sse_token=\(visitorToken)")])
        #expect(posted.status == 303)
        let visitorTopic = "visitor.\(visitor)"
        let notices = try await cluster.send(
            RedisCommand("XRANGE", "sse:{\(visitorTopic)}:history", "-", "+"), key: "sse:{\(visitorTopic)}:history")
        #expect(notices.array?.count == 1)
        let noticeID = notices.array?.first?.array?.first?.string
        let clock = try await cluster.send(
            RedisCommand("HGET", "sse:{\(visitorTopic)}:clock", "last"), key: "sse:{\(visitorTopic)}:clock")
        #expect(noticeID != nil && clock.string == noticeID)

        // A primary that lost its functions gets both back from the watch within about a second.
        let lost = Self.port(map.primaries[1])
        _ = try await redis.command(lost, ["FUNCTION", "FLUSH"])
        try await waitUntil("both libraries again on \(lost)", timeout: .seconds(10)) {
            try await redis.command(lost, ["FUNCTION", "LIST"]).array?.count == 2
        }
        #expect(try await publisher.send("GET", "/readyz").body == "ready\n")
        await cluster.close()
    }
}
