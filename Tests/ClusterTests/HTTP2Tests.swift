import Foundation
import LocalRedis
import SSETestSupport
import Testing

extension EndToEnd {
    /// The HTTPS front door of `deploy/local-cluster` (SSE_HTTPS_PORT, HTTP/2, a self-signed certificate): many
    /// streams of one browser are streams of one connection there, where over HTTP/1.1 each stream holds a
    /// connection of its own (and a browser opens at most 6 per host); and the two ways a stream ends keep their
    /// meaning through it: a node killed mid-stream resets the HTTP/2 stream (a fetch reader fails and retries),
    /// `ssectl end` finishes it (the reader ends cleanly). The browser's side is Tests/browser/http2_streams.py;
    /// the proof of sharing is nginx's access log, which names each request's connection and protocol.
    @Suite("HTTPS with HTTP/2 at nginx")
    struct HTTP2Tests {
        static let streams = 10
        static let plainStreams = 3

        @Test func tenStreamsFromOneBrowserShareOneHTTP2ConnectionAndACrashReachesAFetchReaderAsAnError() async throws {
            let run = try LocalClusterScriptTests.Run.fresh("local-cluster-h2", nodes: 2)
            defer { try? FileManager.default.removeItem(atPath: run.directory) }
            var failure: (any Error)?
            do {
                try await exercise(run)
            } catch {
                failure = error
            }
            // Whatever happened, `down` stops what `up` started.
            let down = try await run("down")
            #expect(down.status == 0, "down: \(down.output)")
            if let failure { throw failure }
        }

        private func exercise(_ run: LocalClusterScriptTests.Run) async throws {
            // The cluster keeps only board and news public; this test's own topics (h2-…, crash, …) are public too.
            let up = try await run("up", ["SSE_PUBLIC_TOPICS": "*"])
            try #require(up.status == 0, "up: \(up.output)")
            let nodes = try (1...2).map { number in
                "\(number)=\(try #require(run.pid("gateway-\(number)"), "gateway-\(number) runs"))"
            }
            let binaries = URL(fileURLWithPath: GatewayProcess.executable).deletingLastPathComponent().path
            let result = try await runProgram(
                "/usr/bin/python3",
                [
                    NginxProcess.repositoryRoot + "/Tests/browser/http2_streams.py",
                    "--https", "https://127.0.0.1:\(run.httpsPort)/", "--plain", "http://127.0.0.1:\(run.httpPort)/",
                    "--nodes", "2", "--token-file", run.directory + "/publish-token",
                    "--streams", "\(Self.streams)", "--plain-streams", "\(Self.plainStreams)",
                    "--ssectl", binaries + "/ssectl", "--redis-url",
                    "redis://127.0.0.1:\(run.environment["SSE_REDIS_PORT"]!)",
                ] + nodes.flatMap { ["--node", $0] }, timeout: .seconds(90))
            #expect(result.status == 0, "http2_streams.py:\n\(result.output)")
            #expect(result.output.hasSuffix("PASSED\n"), "\(result.output)")
            // The stream whose node was killed broke mid-body (nginx reset the HTTP/2 stream), the ended one did not.
            #expect(result.output.contains("the fetch reader over HTTP/2 failed: error: TypeError"), "\(result.output)")
            #expect(result.output.contains("received the end event and ended cleanly"), "\(result.output)")
            let errors = (try? String(contentsOfFile: run.directory + "/logs/nginx/error.log", encoding: .utf8)) ?? ""
            let broken = errors.split(separator: "\n").filter { $0.contains("upstream prematurely closed") }
            #expect(broken.count == 1 && broken[0].contains("GET /sse?topic=crash HTTP/2.0"), "\(errors)")

            // nginx logs a request when it ends: the browser closed every stream, so each has its line by now or
            // very soon.
            let log = run.directory + "/logs/nginx/access.log"
            let expected = Self.streams + Self.plainStreams
            var lines: [AccessLogLine] = []
            var ends: [AccessLogLine] = []
            try await waitUntil("nginx has logged all \(expected + 2) streams", timeout: .seconds(10)) {
                let all = AccessLogLine.read(log)
                lines = all.filter { $0.path.hasPrefix("/sse?topic=h") }
                ends = all.filter { ["/sse?topic=crash", "/sse?topic=finish"].contains($0.path) }
                return lines.count >= expected && ends.count >= 2
            }
            #expect(ends.count == 2 && ends.allSatisfy { $0["protocol"] == "HTTP/2.0" }, "\(ends)")
            let secure = lines.filter { $0.path.hasPrefix("/sse?topic=h2-") }
            let plain = lines.filter { $0.path.hasPrefix("/sse?topic=h1-") }
            #expect(secure.count == Self.streams && plain.count == Self.plainStreams, "\(lines)")

            // Over HTTPS: every stream on HTTP/2, all on one connection, each a request of its own on it, and
            // spread by nginx over both nodes.
            #expect(Set(secure.map(\.path)) == Set((1...Self.streams).map { "/sse?topic=h2-\($0)" }))
            #expect(secure.allSatisfy { $0.status == 200 && $0["protocol"] == "HTTP/2.0" }, "\(secure)")
            let connections = Set(secure.compactMap { $0["connection"] })
            #expect(connections.count == 1, "one connection for all \(Self.streams) streams: \(connections)")
            #expect(Set(secure.compactMap { $0["connection_requests"] }).count == Self.streams, "\(secure)")
            #expect(Set(secure.compactMap { $0["upstream"] }).count == 2, "both nodes served: \(secure)")

            // Over plain HTTP: HTTP/1.1, a connection per open stream, none of them the HTTP/2 one.
            #expect(Set(plain.map(\.path)) == Set((1...Self.plainStreams).map { "/sse?topic=h1-\($0)" }))
            #expect(plain.allSatisfy { $0.status == 200 && $0["protocol"] == "HTTP/1.1" }, "\(plain)")
            let plainConnections = Set(plain.compactMap { $0["connection"] })
            #expect(plainConnections.count == Self.plainStreams, "\(plain)")
            #expect(plainConnections.isDisjoint(with: connections))
        }
    }
}

/// One line of nginx's `sse` access log format: `ADDR [TIME] "METHOD PATH PROTOCOL" STATUS BYTES key=value…`.
struct AccessLogLine: CustomStringConvertible {
    var path: String
    var status: Int
    var fields: [String: String]
    var description: String

    subscript(key: String) -> String? { fields[key] }

    init?(_ line: Substring) {
        let quoted = line.split(separator: "\"", omittingEmptySubsequences: false)
        guard quoted.count == 3 else { return nil }
        let request = quoted[1].split(separator: " ")
        let rest = quoted[2].split(separator: " ")
        guard request.count == 3, let status = rest.first.flatMap({ Int($0) }) else { return nil }
        path = String(request[1])
        self.status = status
        fields = Dictionary(
            rest.compactMap { field in
                field.firstIndex(of: "=").map { (String(field[..<$0]), String(field[field.index(after: $0)...])) }
            }, uniquingKeysWith: { $1 })
        description = String(line)
    }

    /// The lines of the log at `path` (none while it does not exist).
    static func read(_ path: String) -> [AccessLogLine] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap(AccessLogLine.init)
    }
}
