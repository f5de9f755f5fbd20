import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

/// Issue 14: private topics. Once a key is set, a topic is private unless listed public, and a stream request must
/// carry a token that grants every private topic it names, from a header, a trusted cookie or (when turned on) the
/// query; replay stays inside the grant; a stream ends at its token's expiry and with its revocation.
@Suite("Private topics (real redis-server and sse-gateway)")
struct PrivateTopicsTests {
    /// The suite's HS256 key (a random secret in a file of its own; TestTokenKey signs the tokens).
    static let key: TestTokenKey = {
        do { return try TestTokenKey() } catch { fatalError("\(error)") }
    }()

    /// A gateway with the suite's key, `board` and `news.*` public, cookies trusted only for app.example.
    static func withGateway(
        _ extra: [String] = [],
        _ body: (GatewayProcess, TestPublisher, LocalRedisServer) async throws -> Void
    ) async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis,
                arguments: key.gatewayArguments + [
                    "--public-topic", "board", "--public-topic", "news.*", "--allowed-origins", "https://app.example,*",
                ] + extra)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            try await body(node, publisher, redis)
        }
    }

    /// A token signed with ``key`` (``TestTokenKey/token(subscribe:subject:tokenID:expiresIn:issuedAgo:)``).
    static func token(
        subscribe: [String], subject: String? = nil, id: String? = nil, expiresIn: Int = 300, expiresAt: Int? = nil,
        issuedAgo: Int = 0
    ) -> String {
        key.token(
            subscribe: subscribe, subject: subject, tokenID: id, expiresIn: expiresIn, expiresAt: expiresAt,
            issuedAgo: issuedAgo)
    }

    static func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer \(token)")] }

    @Test func everyPrivateTopicNeedsAGrantFromAHeaderOrATrustedCookie() async throws {
        try await Self.withGateway { node, _, _ in
            let port = node.port
            let granted = Self.token(subscribe: ["user.42", "org.7.*"])

            // Public topics need nothing; a token sent with them is not read.
            let open = try await SSETestClient.open(port: port, path: "/sse?topic=board&topic=news.eu")
            let openWithJunk = try await SSETestClient.open(
                port: port, path: "/sse?topic=board", headers: Self.bearer("not-a-token"))
            try await waitUntil("public streams answered") { open.status != nil && openWithJunk.status != nil }
            #expect(open.status == 200)
            #expect(openWithJunk.status == 200)

            // No token for a private topic: 401 without an error code (RFC 6750 §3.1).
            let missing = try await HTTPProbe.get(port: port, path: "/sse?topic=board&topic=user.42")
            #expect(missing.status == 401)
            #expect(missing.header("WWW-Authenticate") == #"Bearer realm="sse""#)
            #expect(missing.body == "missing token: send an Authorization: Bearer header or the sse_token cookie\n")

            // A header granting every private topic asked for (exact and wildcard) opens the stream.
            let header = try await SSETestClient.open(
                port: port, path: "/sse?topic=board&topic=user.42&topic=org.7.sales", headers: Self.bearer(granted))
            try await waitUntil("granted stream answered") { header.status != nil }
            #expect(header.status == 200)

            // All or nothing: one topic not granted refuses the whole request, naming it.
            let partly = try await HTTPProbe.get(
                port: port, path: "/sse?topic=user.42&topic=org.70.x&topic=user.43", headers: Self.bearer(granted))
            #expect(partly.status == 403)
            #expect(partly.header("WWW-Authenticate") == #"Bearer realm="sse", error="insufficient_scope""#)
            #expect(partly.body == "topic \"org.70.x\" is not granted by the token\n")

            // The cookie: read without Origin and from an origin listed by name, not from one only `*` allows.
            let cookie = [("Cookie", "theme=dark; sse_token=\(granted)")]
            let sameOrigin = try await SSETestClient.open(port: port, path: "/sse?topic=user.42", headers: cookie)
            let listed = try await SSETestClient.open(
                port: port, path: "/sse?topic=user.42", headers: cookie + [("Origin", "https://app.example")])
            try await waitUntil("cookie streams answered") { sameOrigin.status != nil && listed.status != nil }
            #expect(sameOrigin.status == 200)
            #expect(listed.status == 200)
            #expect(listed.header("Access-Control-Allow-Origin") == "https://app.example")
            #expect(listed.header("Access-Control-Allow-Credentials") == "true")
            let unlisted = try await HTTPProbe.get(
                port: port, path: "/sse?topic=user.42", headers: cookie + [("Origin", "https://other.example")])
            #expect(unlisted.status == 401)
            #expect(
                unlisted.body
                    == "the sse_token cookie is not read for origin \"https://other.example\", which is not listed by"
                    + " name in SSE_ALLOWED_ORIGINS: send an Authorization: Bearer header\n")
            // The refusal carries the CORS headers, so the page can read why.
            #expect(unlisted.header("Access-Control-Allow-Origin") == "https://other.example")
            // The same origin with the token in a header is fine.
            let unlistedHeader = try await SSETestClient.open(
                port: port, path: "/sse?topic=user.42",
                headers: Self.bearer(granted) + [("Origin", "https://other.example")])
            try await waitUntil("header stream answered") { unlistedHeader.status != nil }
            #expect(unlistedHeader.status == 200)

            // The query parameter is off unless turned on; another scheme than Bearer is malformed.
            let query = try await HTTPProbe.get(port: port, path: "/sse?topic=user.42&access_token=\(granted)")
            #expect(query.status == 401)
            #expect(
                query.body
                    == "access_token in the URL is turned off (SSE_TOKEN_IN_QUERY): send an Authorization: Bearer"
                    + " header or the sse_token cookie\n")
            let basic = try await HTTPProbe.get(
                port: port, path: "/sse?topic=user.42", headers: [("Authorization", "Basic dXNlcjpwYXNz")])
            #expect(basic.status == 401)
            #expect(basic.header("WWW-Authenticate")?.hasPrefix(#"Bearer realm="sse", error="invalid_token""#) == true)

            let metrics = try await node.metrics()
            #expect(metrics.auth.refusals["missing"] == 3)
            #expect(metrics.auth.refusals["malformed"] == 1)
            #expect(metrics.auth.refusals["not_granted"] == 1)
            #expect(metrics.auth.authorizedStreams == 4)
            for client in [open, openWithJunk, header, sameOrigin, listed, unlistedHeader] { client.close() }
        }
    }

    @Test func theQueryParameterWorksOnceTurnedOn() async throws {
        try await Self.withGateway(["--token-in-query", "true"]) { node, _, _ in
            let granted = Self.token(subscribe: ["user.42"])
            let stream = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=user.42&access_token=\(granted)")
            defer { stream.close() }
            try await waitUntil("query stream answered") { stream.status != nil }
            #expect(stream.status == 200)
            let missing = try await HTTPProbe.get(port: node.port, path: "/sse?topic=user.42")
            #expect(
                missing.body
                    == "missing token: send an Authorization: Bearer header or the sse_token cookie, or access_token"
                    + " in the URL\n")
        }
    }

    @Test func aLastEventIDNeverReachesBeyondTheGrant() async throws {
        try await Self.withGateway { node, publisher, _ in
            let before = try await publisher.publish("user.42", "before")
            var mine: [String] = []
            for index in 0..<4 {
                mine.append(try await publisher.publish("user.42", "mine \(index)"))
                _ = try await publisher.publish("user.43", "theirs \(index)")
            }
            let token = Self.token(subscribe: ["user.42"])
            // Resuming from an id of the granted topic: only that topic's history comes back.
            let stream = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=user.42",
                headers: Self.bearer(token) + [("Last-Event-ID", before)])
            defer { stream.close() }
            try await stream.waitForEvents(4)
            #expect(stream.events.map(\.id) == mine)
            #expect(stream.events.map(\.data) == (0..<4).map { "mine \($0)" })
            // The other user's topic with the same id and token: refused, nothing replayed.
            let theirs = try await HTTPProbe.get(
                port: node.port, path: "/sse?topic=user.43",
                headers: Self.bearer(token) + [("Last-Event-ID", before)])
            #expect(theirs.status == 403)
            #expect(theirs.body == "topic \"user.43\" is not granted by the token\n")
            #expect(try await node.metrics().replayedEvents == 4)
        }
    }

    @Test func aStreamEndsAtItsTokensExpiryAndResumesWithAFreshTokenWithoutAGapOrADuplicate() async throws {
        try await Self.withGateway(["--token-expiry-spread", "1"]) { node, publisher, _ in
            // The `exp` is fixed first and written into the token: reading the clock twice could straddle a second.
            // Six seconds leave the connect and the first event room on a loaded machine (a fresh-clone CI run
            // with 3 s failed here), and the spread at most 0.6 s.
            let expiry = TestTokens.unixTime(6)
            let shortLived = Self.token(subscribe: ["user.42"], expiresAt: expiry)
            let stream = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=user.42", headers: Self.bearer(shortLived))
            try await stream.waitUntilConnected()
            let first = try await publisher.publish("user.42", "one")
            try await stream.waitForEvents(1)
            try await waitUntil("the stream ended at its expiry", timeout: .seconds(15)) { stream.isClosed }
            // Not before the expiry minus the spread (at most a tenth of the 6 s left, so 0.6 s; 1 s of rounding).
            #expect(TestTokens.unixTime() >= expiry - 1)
            #expect(stream.events.map(\.event) == [nil, "token-expired"])
            #expect(stream.events.last?.data == "{\"exp\":\(expiry)}")
            // Unfinished body: a fetch-based client treats it as an error and comes back.
            #expect(!stream.isBodyComplete)

            // Published while the client was away; it comes back with a fresh token and its last id.
            let missed = [
                try await publisher.publish("user.42", "two"), try await publisher.publish("user.42", "three"),
            ]
            let resumed = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=user.42",
                headers: Self.bearer(Self.token(subscribe: ["user.42"])) + [("Last-Event-ID", first)])
            defer { resumed.close() }
            try await resumed.waitForEvents(2)
            #expect(resumed.events.map(\.id) == missed)
            let metrics = try await node.metrics()
            #expect(metrics.auth.expiredStreams == 1)
            // Once past its `exp` (inside the verifier's 5 s leeway too: a stream of it would end at once), the old
            // token is refused on reconnect.
            try await waitUntil("the short-lived token's exp has passed") { TestTokens.unixTime() > expiry }
            let again = try await HTTPProbe.get(
                port: node.port, path: "/sse?topic=user.42", headers: Self.bearer(shortLived))
            #expect(again.status == 401)
            #expect(again.body == "access token has expired\n")
            #expect(try await node.metrics().auth.refusals["expired"] == 1)
        }
    }

    @Test func aRevocationClosesTheStreamsItCoversAndRefusesTheirTokens() async throws {
        try await Self.withGateway { node, publisher, _ in
            let alice = Self.token(subscribe: ["user.42"], subject: "42", id: "alice-1", issuedAgo: 60)
            let bob = Self.token(subscribe: ["user.43"], subject: "43", id: "bob-1", issuedAgo: 60)
            let aliceStream = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=user.42", headers: Self.bearer(alice))
            let bobStream = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=user.43", headers: Self.bearer(bob))
            defer { bobStream.close() }
            try await aliceStream.waitUntilConnected()
            try await bobStream.waitUntilConnected()

            // Every token of subject 42 issued until 10 s ago.
            let at = TestTokens.unixTime(-10)
            let revokeSubject = #"{"revoke":{"subject":"42","at":\#(at),"reason":"signed out"}}"#
            _ = try await publisher.connection.send(RedisCommand("PUBLISH", arguments: ["sse:control", revokeSubject]))
            try await waitUntil("alice's stream closed") { aliceStream.isClosed }
            #expect(aliceStream.events.map(\.event) == ["revoked"])
            #expect(aliceStream.events.map(\.data) == [#"{"reason":"signed out"}"#])
            #expect(aliceStream.isBodyComplete)
            // Bob's stream goes on.
            let id = try await publisher.publish("user.43", "still here")
            try await bobStream.waitForEvents(1)
            #expect(bobStream.events.map(\.id) == [id])

            // Alice's old token is refused; one issued after the revocation's `at` is not.
            let refused = try await HTTPProbe.get(
                port: node.port, path: "/sse?topic=user.42", headers: Self.bearer(alice))
            #expect(refused.status == 401)
            let fresh = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=user.42",
                headers: Self.bearer(Self.token(subscribe: ["user.42"], subject: "42", id: "alice-2")))
            defer { fresh.close() }
            try await waitUntil("fresh token answered") { fresh.status != nil }
            #expect(fresh.status == 200)

            // A token id: its stream closes and it is refused until it expires.
            let revokeToken = #"{"revoke":{"token":"bob-1"}}"#
            _ = try await publisher.connection.send(RedisCommand("PUBLISH", arguments: ["sse:control", revokeToken]))
            try await waitUntil("bob's stream closed") { bobStream.isClosed }
            #expect(bobStream.events.last?.event == "revoked")
            let bobAgain = try await HTTPProbe.get(
                port: node.port, path: "/sse?topic=user.43", headers: Self.bearer(bob))
            #expect(bobAgain.status == 401)
            #expect(!fresh.isClosed)

            let metrics = try await node.metrics()
            #expect(metrics.auth.revocations == 2)
            #expect(metrics.auth.revokedStreams == 2)
            #expect(metrics.auth.refusals["revoked"] == 2)
        }
    }

    @Test func ssectlRevokeKeepsTheRevocationInRedisForANodeThatStartsLater() async throws {
        try await Self.withGateway { node, _, redis in
            let carol = Self.token(subscribe: ["user.44"], subject: "44", id: "carol-1", issuedAgo: 30)
            let stream = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=user.44", headers: Self.bearer(carol))
            try await stream.waitUntilConnected()
            let revoked = try await SSECtlTests.run([
                "revoke", "--redis-url", redis.url, "--token", "carol-1", "--reason", "lost laptop",
                "--until", String(TestTokens.unixTime(300)),
            ])
            #expect(revoked.status == 0, "\(revoked.error)")
            #expect(revoked.output == "1\n")  // one node heard it
            try await waitUntil("carol's stream closed") { stream.isClosed }
            #expect(stream.events.map(\.data) == [#"{"reason":"lost laptop"}"#])

            // A node started afterwards loads it from Redis and refuses the token too.
            let later = try await GatewayProcess.start(
                redis: redis,
                arguments: Self.key.gatewayArguments + ["--public-topic", "board"])
            // Ready only once it has read them (GatewayProcess.start waits for /readyz).
            let refused = try await HTTPProbe.get(
                port: later.port, path: "/sse?topic=user.44", headers: Self.bearer(carol))
            #expect(refused.status == 401)
            #expect(refused.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)
            #expect(try await later.metrics().auth.refusals["revoked"] == 1)

            // Bad arguments: one line each, exit 64.
            let two = try await SSECtlTests.run(["revoke", "--subject", "1", "--token", "2"])
            #expect(two.status == 64)
            #expect(two.error.contains("give exactly one of --subject, --token or --topic"), "\(two.error)")
            let badTopic = try await SSECtlTests.run(["revoke", "--topic", "a b"])
            #expect(badTopic.status == 64)
            #expect(badTopic.error.contains("topic \"a b\" is invalid"), "\(badTopic.error)")
        }
    }
}
