import Foundation
import LocalRedis
import SSETestSupport
import Testing

/// Issue 12, finding 7: a form post from another site (`Origin: https://evil.example`) was accepted and reached
/// every page. `/add_post` now refuses a post whose `Origin` (or, without one, `Referer`) is not this site, and any
/// post a browser marks `Sec-Fetch-Site: cross-site`, with 403 and one line.
@Suite("Cross-site posts to /add_post are refused (real processes)")
struct CrossSitePostTests {
    static let form = [("text", "csrf check")]

    @Test func aPostFromAnotherSiteIsRefusedAndOneFromThisSiteOrNoBrowserIsAccepted() async throws {
        try await BoardStack.with { stack in
            let publisher = stack.publisher
            let own = "http://127.0.0.1:\(publisher.port)"
            let expected = "expected \(own) or an origin in SSE_PUBLIC_ORIGINS"
            let refused: [(headers: [(String, String)], body: String)] = [
                (
                    [("Origin", "https://evil.example")],
                    "cross-site post refused: Origin \"https://evil.example\" is not this site (\(expected))"
                ),
                ([("Origin", "null")], "cross-site post refused: Origin \"null\" is not this site (\(expected))"),
                (
                    [("Origin", "http://127.0.0.1:\(publisher.port + 1)")],
                    "cross-site post refused: Origin \"http://127.0.0.1:\(publisher.port + 1)\" is not this site "
                        + "(\(expected))"
                ),
                (
                    [("Referer", "https://evil.example/page?x=1")],
                    "cross-site post refused: Referer \"https://evil.example/page?x=1\" is not from this site "
                        + "(\(expected))"
                ),
                (
                    [("Sec-Fetch-Site", "cross-site")],
                    "cross-site post refused: the browser marked it Sec-Fetch-Site: cross-site"
                ),
                (
                    [("Origin", own), ("Sec-Fetch-Site", "cross-site")],
                    "cross-site post refused: the browser marked it Sec-Fetch-Site: cross-site"
                ),
            ]
            for (headers, body) in refused {
                for client in [[], [("HX-Request", "true")], [("X-Engine-Request", "1")]] {
                    let response = try await publisher.postForm("/add_post", Self.form, headers: headers + client)
                    #expect(response.status == 403, "\(headers)")
                    #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
                    #expect(response.body == body + "\n", "\(headers)")
                }
            }
            #expect(try await stack.stats() == [:])
            #expect(try await stack.history().isEmpty)

            let accepted: [[(String, String)]] = [
                [],
                [("Origin", own), ("Sec-Fetch-Site", "same-origin")],
                [("Origin", "https://127.0.0.1:\(publisher.port)")],
                [("Referer", own + "/")],
                [("Sec-Fetch-Site", "none")],
            ]
            for headers in accepted {
                let response = try await publisher.postForm("/add_post", Self.form, headers: headers)
                #expect(response.status == 303, "\(headers)")
            }
            #expect(try await stack.stats()["posts"] == "\(accepted.count)")
        }
    }

    @Test func originsListedInTheSettingAreAcceptedAndABadListStopsTheProcess() async throws {
        try await BoardStack.with(
            publisherArguments: ["--public-origins", "https://board.example, https://www.board.example:8443"]
        ) { stack in
            for origin in ["https://board.example", "https://www.board.example:8443"] {
                let response = try await stack.publisher.postForm(
                    "/add_post", Self.form, headers: [("Origin", origin)])
                #expect(response.status == 303, "\(origin)")
            }
            let other = try await stack.publisher.postForm(
                "/add_post", Self.form, headers: [("Origin", "https://board.example:8443")])
            #expect(other.status == 403)
        }
        let result = try await runProgram(
            PublisherProcess.executable, [], environment: ["SSE_PUBLIC_ORIGINS": "board.example"],
            timeout: .seconds(30))
        #expect(result.status != 0)
        #expect(
            result.output.contains(
                #"public origin "board.example" is invalid: expected scheme://host[:port] such as https://board.example"#
            ), "\(result.output)")
    }

    /// The demo through nginx: nginx forwards the browser's `Host`, so the page's own origin is accepted there.
    @Test func aSameOriginPostThroughNginxIsAccepted() async throws {
        try await BoardStack.with { stack in
            let nginx = try await NginxProcess.start(
                gateways: [stack.gateway.port], publisherPort: stack.publisher.port)
            defer { nginx.kill() }
            let origin = "http://127.0.0.1:\(nginx.port)"
            let body = "text=through+nginx"
            let request =
                "POST /add_post HTTP/1.1\r\nHost: 127.0.0.1:\(nginx.port)\r\nConnection: close\r\n"
                + "Origin: \(origin)\r\nSec-Fetch-Site: same-origin\r\nX-Engine-Request: 1\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
            let response = try await HTTPProbe.send(port: nginx.port, raw: request)
            #expect(response.status == 200)
            let evil = try await HTTPProbe.send(
                port: nginx.port,
                raw: request.replacingOccurrences(of: "Origin: \(origin)", with: "Origin: http://x.test"))
            #expect(evil.status == 403)
            #expect(try await stack.stats()["posts"] == "1")
        }
    }
}
