import Foundation
import SSEAuth
import SSETestSupport
import Testing

/// Issue 14, point 7: with a signing key the publisher gives each visitor an id cookie and a token cookie granting
/// `board` and their own `visitor.<id>`; `POST /token` renews the token; the gateway lets a visitor's cookie read
/// only their own topic, and a post is acknowledged on the poster's topic alone.
@Suite("Visitor cookies and private visitor topics (real redis-server, sse-gateway, sse-publisher)")
struct VisitorTokenTests {
    static let attributes = "; Path=/; HttpOnly; SameSite=Lax"

    /// The visitor id and token a page load (or a refresh) set, after checking both cookies' exact attributes.
    static func cookies(of response: HTTPProbe.Response, secure: Bool = false) throws -> (
        visitor: String, token: String
    ) {
        let cookies = SetCookies(response)
        #expect(cookies.values.count == 2, "\(cookies.values)")
        let suffix = attributes + (secure ? "; Secure" : "")
        #expect(cookies.attributes("sse_visitor") == "; Max-Age=31536000" + suffix)
        #expect(cookies.attributes("sse_token") == "; Max-Age=900" + suffix)
        let visitor = try #require(cookies.value("sse_visitor"))
        #expect(visitor.utf8.count == 32 && visitor.allSatisfy { $0.isHexDigit && !$0.isUppercase }, "\(visitor)")
        return (visitor, try #require(cookies.value("sse_token")))
    }

    @Test func aPageLoadSetsTheVisitorAndATokenGrantingExactlyBoardAndTheVisitorsTopic() async throws {
        try await VisitorStack.with(publisherArguments: ["--trusted-proxy", "127.0.0.1"]) { stack in
            let page = try await HTTPProbe.get(port: stack.publisher.port, path: "/")
            #expect(page.status == 200)
            let (visitor, token) = try Self.cookies(of: page)
            let access = try await stack.verify(token)
            #expect(access.subject == visitor)
            #expect(access.grants.subscribe.descriptions == ["board", "visitor.\(visitor)"])
            #expect(access.grants.publish.descriptions == [])
            let issuedAt = try #require(access.issuedAt)
            #expect(access.expiresAt.timeIntervalSince(issuedAt) == 900)
            #expect(abs(issuedAt.timeIntervalSinceNow) < 30)
            let firstID = try #require(access.tokenID)
            #expect(firstID.utf8.count == 32)
            #expect(page.body.contains(#"data-topic="board visitor.\#(visitor)""#))
            #expect(page.body.contains(#"data-model-url="/model" data-token-url="/token"></script>"#))
            #expect(page.body.contains(#"<p id="notice" class="private-notice" role="status" aria-live="polite"></p>"#))

            // The same visitor on the next load (their cookie), with a new token id.
            let again = try await HTTPProbe.get(
                port: stack.publisher.port, path: "/", headers: [("Cookie", "sse_visitor=\(visitor); other=1")])
            let (sameVisitor, newToken) = try Self.cookies(of: again)
            #expect(sameVisitor == visitor)
            #expect(try await stack.verify(newToken).tokenID != firstID)
            // An edited id is no id: a new visitor.
            let edited = try await HTTPProbe.get(
                port: stack.publisher.port, path: "/", headers: [("Cookie", "sse_visitor=\(visitor.uppercased())")])
            #expect(try Self.cookies(of: edited).visitor != visitor)

            // Over HTTPS at the trusted proxy (nginx sets X-Forwarded-Proto): both cookies are Secure.
            let secure = try await HTTPProbe.get(
                port: stack.publisher.port, path: "/", headers: [("X-Forwarded-Proto", "https")])
            _ = try Self.cookies(of: secure, secure: true)
        }
    }

    @Test func xForwardedProtoFromAnUntrustedPeerDoesNotMakeTheCookiesSecure() async throws {
        try await VisitorStack.with { stack in
            let page = try await HTTPProbe.get(
                port: stack.publisher.port, path: "/", headers: [("X-Forwarded-Proto", "https")])
            _ = try Self.cookies(of: page, secure: false)
        }
    }

    @Test func postTokenRenewsTheTokenOfTheSameVisitorAndRefusesCrossSiteRequests() async throws {
        try await VisitorStack.with { stack in
            let publisher = stack.publisher
            let (visitor, token) = try Self.cookies(of: try await HTTPProbe.get(port: publisher.port, path: "/"))
            let cookie = ("Cookie", "sse_visitor=\(visitor); sse_token=\(token)")
            let renewed = try await publisher.send("POST", "/token", headers: [cookie, ("X-Engine-Request", "1")])
            #expect(renewed.status == 204)
            #expect(renewed.body == "")
            #expect(renewed.header("Cache-Control") == "no-store")
            let (sameVisitor, newToken) = try Self.cookies(of: renewed)
            #expect(sameVisitor == visitor)
            let (old, new) = (try await stack.verify(token), try await stack.verify(newToken))
            #expect(new.subject == visitor && new.tokenID != old.tokenID)
            #expect(new.grants == old.grants)

            let own = "http://127.0.0.1:\(publisher.port)"
            let expected = "expected \(own) or an origin in SSE_PUBLIC_ORIGINS"
            let refused = try await publisher.send(
                "POST", "/token", headers: [cookie, ("Origin", "https://evil.example")])
            #expect(refused.status == 403)
            #expect(
                refused.body
                    == "cross-site post refused: Origin \"https://evil.example\" is not this site (\(expected))\n")
            #expect(SetCookies(refused).values == [])
            let marked = try await publisher.send(
                "POST", "/token", headers: [cookie, ("Sec-Fetch-Site", "cross-site")])
            #expect(marked.status == 403)
            #expect(marked.body == "cross-site post refused: the browser marked it Sec-Fetch-Site: cross-site\n")
            let sameOrigin = try await publisher.send("POST", "/token", headers: [cookie, ("Origin", own)])
            #expect(sameOrigin.status == 204)
            #expect(try Self.cookies(of: sameOrigin).visitor == visitor)

            // Without a visitor cookie: a new visitor. GET is not a route.
            let fresh = try await publisher.send("POST", "/token")
            #expect(fresh.status == 204)
            #expect(try Self.cookies(of: fresh).visitor != visitor)
            let get = try await HTTPProbe.get(port: publisher.port, path: "/token")
            #expect(get.status == 405)
            #expect(get.header("Allow") == "POST")
        }
    }

    /// `POST /token` is limited per client address (60 a minute, all at once at most): a refresh past the burst gets
    /// 429 with `Retry-After` and no cookie, and `GET /metrics` counts it under its own limit.
    @Test func tokenRefreshesOverTheLimitGet429AndAreCounted() async throws {
        try await VisitorStack.with { stack in
            let publisher = stack.publisher
            let (visitor, token) = try Self.cookies(of: try await HTTPProbe.get(port: publisher.port, path: "/"))
            let cookie = ("Cookie", "sse_visitor=\(visitor); sse_token=\(token)")
            // Refreshes until the first refusal: the burst of 60, plus at most one refill a second while it ran.
            let start = ContinuousClock.now
            var accepted = 0
            var refused: HTTPProbe.Response?
            while refused == nil, accepted < 200 {
                let answer = try await publisher.send("POST", "/token", headers: [cookie])
                if answer.status == 204 { accepted += 1 } else { refused = answer }
            }
            let elapsed = (ContinuousClock.now - start).components.seconds
            #expect(accepted >= 60 && accepted <= 60 + Int(elapsed) + 1, "\(accepted) accepted in \(elapsed) s")
            let refusal = try #require(refused)
            #expect(refusal.status == 429)
            #expect(SetCookies(refusal).values == [])
            // One token comes back each second, so the wait is at most a second.
            #expect(refusal.header("Retry-After") == "1")
            #expect(refusal.body == "too many token requests from 127.0.0.1: at most 60 per minute; try again in 1 s\n")
            let metrics = try await HTTPProbe.get(port: publisher.port, path: "/metrics")
            let lines = metrics.body.split(separator: "\n").filter {
                $0.hasPrefix("sse_publisher_limit_refusals_total{")
            }
            #expect(
                lines == [
                    #"sse_publisher_limit_refusals_total{limit="post_rate"} 0"#,
                    #"sse_publisher_limit_refusals_total{limit="token_rate"} 1"#,
                ])
        }
    }

    @Test func aVisitorReadsTheirOwnTopicOnlyAndOnlyThePosterIsTold() async throws {
        try await VisitorStack.with { stack in
            let (gateway, publisher) = (stack.gateway.port, stack.publisher)
            let (a, tokenA) = try Self.cookies(of: try await HTTPProbe.get(port: publisher.port, path: "/"))
            let (b, tokenB) = try Self.cookies(of: try await HTTPProbe.get(port: publisher.port, path: "/"))
            #expect(a != b)

            // A's cookie opens board + visitor.A; not visitor.B (403), and no cookie is a 401.
            let streamA = try await SSETestClient.open(
                port: gateway, path: "/sse?topic=board&topic=visitor.\(a)", headers: [("Cookie", "sse_token=\(tokenA)")]
            )
            defer { streamA.close() }
            try await streamA.waitUntilConnected()
            #expect(streamA.status == 200)
            let theirs = try await HTTPProbe.get(
                port: gateway, path: "/sse?topic=board&topic=visitor.\(b)", headers: [("Cookie", "sse_token=\(tokenA)")]
            )
            #expect(theirs.status == 403)
            #expect(theirs.body == "topic \"visitor.\(b)\" is not granted by the token\n")
            let anonymous = try await HTTPProbe.get(port: gateway, path: "/sse?topic=visitor.\(a)")
            #expect(anonymous.status == 401)
            #expect(anonymous.body == "missing token: send an Authorization: Bearer header or the sse_token cookie\n")

            let streamB = try await SSETestClient.open(
                port: gateway, path: "/sse?topic=visitor.\(b)", headers: [("Cookie", "sse_token=\(tokenB)")])
            defer { streamB.close() }
            try await streamB.waitUntilConnected()

            func post(_ visitor: String, _ text: String) async throws {
                let posted = try await publisher.postForm(
                    "/add_post", [("author", "ada"), ("text", text)], headers: [("Cookie", "sse_visitor=\(visitor)")])
                #expect(posted.status == 303)
            }
            // A posts: A's stream gets the board's three events, then the notice on A's topic.
            try await post(a, "first")
            try await streamA.waitForEvents(4)
            #expect(streamA.events[3].data == posterNotice(1))
            // B posts: B's topic gets B's notice and nothing else (A's notice went before it, to A only).
            try await post(b, "second")
            try await streamB.waitForEvents(1)
            // A posts again: everything B's post sent to A came before this, and none of it was B's notice.
            try await post(a, "third")
            try await streamA.waitForEvents(11)
            let dataA = streamA.events.map(\.data)
            #expect(dataA.count == 11)
            #expect(dataA.filter { $0.hasPrefix(#"{"html":{"notice""#) } == [posterNotice(1), posterNotice(3)])
            #expect(dataA[3] == posterNotice(1) && dataA[10] == posterNotice(3))
            #expect(streamB.events.map(\.data) == [posterNotice(2)])
        }
    }

    @Test func withoutASigningKeyThePageIsAllPublicAndTokenIsNotFound() async throws {
        try await BoardStack.with { stack in
            let page = try await HTTPProbe.get(port: stack.publisher.port, path: "/")
            #expect(page.status == 200)
            #expect(SetCookies(page).values == [])
            #expect(page.body.contains(#"data-topic="board""#))
            #expect(!page.body.contains("data-token-url") && !page.body.contains(#"id="notice""#))
            let token = try await stack.publisher.send("POST", "/token")
            #expect(token.status == 404)
            #expect(token.body == "visitor tokens are off: the publisher has no SSE_TOKEN_SIGNING_KEY\n")
        }
    }
}
