import Foundation
import Gateway
import LocalRedis
import SSEProtocol
import SSETestSupport
import Testing

extension EndToEnd {
    /// Issue 14, the cookie and CORS rules in a real browser: headless Chromium (python3-selenium) on pages of two
    /// origins of the same site as the gateway, one listed by name in its allowed origins and one allowed only by
    /// `*`. The listed page reads a private stream with the visitor's HttpOnly cookie; the other cannot, though the
    /// browser sends it the same cookie, yet reads a public topic, and a private one with `Authorization: Bearer`.
    /// The steps and the browser-side checks are in Tests/browser/private_cookies.py, with why the pages are
    /// same-site.
    @Suite("Private streams, cookies and CORS in a real browser")
    struct PrivateStreamsInBrowserTests {
        @Test func onlyAListedOriginReadsAPrivateStreamWithTheCookieAndAnyAllowedOriginWithABearerHeader()
            async throws
        {
            let key = try TestTokenKey()
            // The listed page's port is chosen first: the gateway must name its origin.
            let listedPort = try freeLoopbackPort()
            let cluster = try await TestCluster.start(
                nodeCount: 1,
                gatewayArguments: key.gatewayArguments + [
                    "--public-topic", "board", "--allowed-origins", "http://127.0.0.1:\(listedPort),*",
                ])
            defer { cluster.stop() }
            // The token travels in a file, so it is in no command line or failure message.
            let tokenFile = try makeDirectory("browser-token") + "/token"
            defer {
                try? FileManager.default.removeItem(
                    atPath: URL(fileURLWithPath: tokenFile).deletingLastPathComponent().path)
            }
            try Data(key.token(subscribe: ["user.42"], subject: "42").utf8).write(to: URL(fileURLWithPath: tokenFile))

            let result = try await runProgram(
                "/usr/bin/python3",
                [
                    NginxProcess.repositoryRoot + "/Tests/browser/private_cookies.py", "--gateway",
                    "http://127.0.0.1:\(cluster.port)", "--listed-port", "\(listedPort)", "--token-file", tokenFile,
                    "--redis-url", cluster.redis.url, "--ssectl", SSECtlProgram.executable,
                ], timeout: .seconds(120))
            #expect(result.status == 0, "private_cookies.py:\n\(result.output)")
            #expect(result.output.hasSuffix("PASSED\n"), "\(result.output)")
            #expect(result.output.split(separator: "\n").filter { $0.hasPrefix("ok: ") }.count == 4)

            // The gateway's side of it: the two refusals of the unlisted page (its EventSource and its fetch) were
            // for a missing token, since the cookie was not read; two private streams were authorized (the listed
            // page's cookie and the bearer fetch); the public stream needed no token.
            let auth = try await cluster.metrics(ofNode: 1).auth
            #expect(auth.refusals.filter { $0.value > 0 } == ["missing": 2])
            #expect(auth.authorizedStreams == 2)
            // Only the bearer fetch was preflighted (EventSource sends no custom header), and the gateway allowed it.
            let preflights = cluster.nginx.accessLog.split(separator: "\n").filter { $0.contains("\"OPTIONS /sse?") }
            #expect(preflights.count == 1, "\(preflights)")
            #expect(preflights.first?.contains("\" 204 ") == true, "\(preflights)")
        }

        /// engine.js through an expiry: the first cookie's token lasts 5 s; the gateway ends the stream with
        /// `event: token-expired`, engine.js POSTs the page's token URL for a fresh cookie and resumes from its
        /// last id through nginx (on whichever node), and the page applies every patch once, in order.
        /// The steps and the browser-side checks are in Tests/browser/private_expiry.py.
        @Test func engineJSResumesAfterItsTokenExpiresWithAFreshCookieWithoutAGapOrADuplicate() async throws {
            let key = try TestTokenKey()
            let pagePort = try freeLoopbackPort()
            let cluster = try await TestCluster.start(
                nodeCount: 2,
                gatewayArguments: key.gatewayArguments + [
                    "--allowed-origins", "http://127.0.0.1:\(pagePort)", "--token-expiry-spread", "1",
                ])
            defer { cluster.stop() }
            let result = try await runProgram(
                "/usr/bin/python3",
                [
                    NginxProcess.repositoryRoot + "/Tests/browser/private_expiry.py", "--gateway",
                    "http://127.0.0.1:\(cluster.port)", "--page-port", "\(pagePort)", "--key-file", key.path,
                    "--key-id", key.id, "--redis-url", cluster.redis.url, "--ssectl", SSECtlProgram.executable,
                ], timeout: .seconds(120))
            #expect(result.status == 0, "private_expiry.py:\n\(result.output)")
            #expect(result.output.hasSuffix("PASSED\n"), "\(result.output)")
            #expect(result.output.split(separator: "\n").filter { $0.hasPrefix("ok: ") }.count == 3)

            // One stream ended at its expiry, two were authorized (the first cookie's and the fresh one's), none
            // was refused: engine.js came back with the fresh cookie, not the expired one.
            let auth = try await (1...2).asyncMap { try await cluster.metrics(ofNode: $0).auth }
            #expect(auth.map(\.expiredStreams).reduce(0, +) == 1)
            #expect(auth.map(\.authorizedStreams).reduce(0, +) == 2)
            #expect(auth.allSatisfy { $0.refusals.values.allSatisfy { $0 == 0 } }, "\(auth.map(\.refusals))")
            // Two stream requests through nginx, both answered 200: the page's, from the marker, and engine.js's
            // resume from a later id (the last event it applied before the expiry).
            // nginx logs a request when it ends: the resumed stream's once the browser has gone.
            let streamRequests = {
                cluster.nginx.accessLog.split(separator: "\n").filter { $0.contains("\"GET /sse?") }
            }
            try await waitUntil("both stream requests logged") { streamRequests().count >= 2 }
            let streams = streamRequests()
            let resumedFrom = streams.compactMap { line in
                line.split(separator: "lastEventId=").dropFirst().first?.split(separator: "&").first
                    .flatMap { try? EventID(parsing: $0) }
            }
            #expect(streams.count == 2 && streams.allSatisfy { $0.contains(" HTTP/1.1\" 200 ") }, "\(streams)")
            #expect(resumedFrom.count == 2 && resumedFrom[0] < resumedFrom[1], "\(streams)")
        }
    }
}
