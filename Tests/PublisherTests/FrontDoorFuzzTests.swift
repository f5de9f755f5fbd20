import Foundation
import LocalRedis
import NIOCore
import SSETestSupport
import Testing

/// Issue 12, "Deliver": thousands of malformed or truncated requests from a fixed seed against a real
/// `sse-publisher`; each must get a 4xx or a close within its deadline, memory must stay bounded, and the publisher
/// must still serve `/healthz` and a valid post afterwards.
@Suite("Fuzzing the publisher's front door (real processes)")
struct FrontDoorFuzzTests {
    static let seed: UInt64 = 0x5EED_0012
    static let count = 3000
    static let concurrency = 48
    static let deadlineSeconds = 2

    /// One generated request: its bytes, and whether the client stops sending (half-closes) after them.
    struct Case: Sendable {
        var kind: String
        var bytes: [UInt8]
        var truncated: Bool
    }

    static func generate(_ rng: inout SeededGenerator) -> Case {
        func pick<T>(_ values: [T]) -> T { values[Int(rng.next() % UInt64(values.count))] }
        func junk(_ length: Int) -> [UInt8] { (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        let host = "Host: 127.0.0.1\r\n"
        let close = "Connection: close\r\n"
        let form = "Content-Type: application/x-www-form-urlencoded\r\n"
        switch rng.next() % 14 {
        case 0:
            return Case(
                kind: "junk request line", bytes: junk(1 + Int(rng.next() % 200)) + Array("\r\n\r\n".utf8),
                truncated: true)
        case 1:
            let line = pick([
                "G(T / HTTP/1.1", "GET / HTTP/1.1 x", "GET / HTTP/9.9", "GET / HTTP/1.1x", "GET /\0 HTTP/1.1",
                "/ GET HTTP/1.1",
            ])
            return Case(
                kind: "bad request line", bytes: Array((line + "\r\n" + host + close + "\r\n").utf8), truncated: false)
        case 2:
            let header = pick(["Bad Header: x", "X-A\0: b", ": empty", "X-B: a\0b", "X-C:\u{7F}", "NoColon"])
            return Case(
                kind: "bad header",
                bytes: Array(("GET /healthz HTTP/1.1\r\n" + host + header + "\r\n" + close + "\r\n").utf8),
                truncated: false)
        case 3:
            return Case(
                kind: "CL + TE",
                bytes: Array(
                    ("POST /add_post HTTP/1.1\r\n" + host + form + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n"
                        + close + "\r\n6\r\ntext=x\r\n0\r\n\r\n").utf8), truncated: false)
        case 4:
            return Case(
                kind: "two Content-Lengths",
                bytes: Array(
                    ("POST /add_post HTTP/1.1\r\n" + host + form + "Content-Length: 6\r\nContent-Length: 60\r\n" + close
                        + "\r\ntext=x").utf8), truncated: false)
        case 5:
            let size = 17_000 + Int(rng.next() % 90_000)
            return Case(
                kind: "huge header",
                bytes: Array(
                    ("GET / HTTP/1.1\r\n" + host + "X-Big: " + String(repeating: "h", count: size) + "\r\n" + close
                        + "\r\n").utf8), truncated: false)
        case 6:
            let sent = Int(rng.next() % 50)
            return Case(
                kind: "truncated body",
                bytes: Array(
                    ("POST /add_post HTTP/1.1\r\n" + host + form + "Content-Length: 100\r\n\r\n" + "text="
                        + String(repeating: "a", count: sent)).utf8), truncated: true)
        case 7:
            let size = pick(["zz", "-1", "FFFFFFFFFFFFFFFFFF", "1;\0", " 5", "0x10"])
            return Case(
                kind: "bad chunk size",
                bytes: Array(
                    ("POST /add_post HTTP/1.1\r\n" + host + form + "Transfer-Encoding: chunked\r\n" + close + "\r\n"
                        + size + "\r\ntext=x\r\n0\r\n\r\n").utf8), truncated: false)
        case 8:
            let body = pick(["text=%G1", "text=%", "text=%F", "text=%FF%FE", "author=%C0%AF&text=x", "text=%E2%82"])
            return Case(
                kind: "bad form encoding",
                bytes: Array(
                    ("POST /add_post HTTP/1.1\r\n" + host + form + "Content-Length: \(body.utf8.count)\r\n" + close
                        + "\r\n" + body).utf8), truncated: false)
        case 9:
            return Case(
                kind: "no Host", bytes: Array(("GET /healthz HTTP/1.1\r\n" + close + "\r\n").utf8), truncated: false)
        case 10:
            return Case(
                kind: "two Hosts",
                bytes: Array(("GET /healthz HTTP/1.1\r\n" + host + "Host: evil\r\n" + close + "\r\n").utf8),
                truncated: false)
        case 11:
            let chunks = (0..<18).map { _ in "1000\r\n" + String(repeating: "b", count: 4096) + "\r\n" }.joined()
            return Case(
                kind: "oversized chunked body",
                bytes: Array(
                    ("POST /datastar-sdk-test HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n" + close + "\r\n"
                        + chunks).utf8), truncated: false)
        case 12:
            let origin = pick(["https://evil.example", "null", "http://127.0.0.1:1"])
            return Case(
                kind: "cross-site post",
                bytes: Array(
                    ("POST /add_post HTTP/1.1\r\n" + host + form + "Origin: \(origin)\r\nContent-Length: 6\r\n" + close
                        + "\r\ntext=x").utf8), truncated: false)
        default:
            let cut = Int(rng.next() % 30) + 1
            let full = Array(("GET /healthz HTTP/1.1\r\n" + host + close + "\r\n").utf8)
            return Case(kind: "truncated head", bytes: Array(full.prefix(min(cut, full.count - 3))), truncated: true)
        }
    }

    /// Sends one case and waits for the close; returns the status (nil for a close without an answer) and how long.
    static func run(_ testCase: Case, port: Int) async throws -> (status: Int?, elapsed: Duration) {
        let started = ContinuousClock.now
        let client = try await SSETestClient.open(port: port, path: "", rawRequest: "")
        try? await client.channel.writeAndFlush(ByteBuffer(bytes: testCase.bytes)).get()
        if testCase.truncated { try? await client.channel.close(mode: .output).get() }
        try await waitUntil("an answer or a close to \(testCase.kind)", timeout: .seconds(deadlineSeconds + 4)) {
            client.isClosed
        }
        return (client.status, ContinuousClock.now - started)
    }

    static func residentKilobytes(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }

    @Test func thousandsOfMalformedRequestsEachGetA4xxOrACloseAndThePublisherKeepsServing() async throws {
        try await BoardStack.with(publisherArguments: ["--request-deadline", "\(Self.deadlineSeconds)"]) { stack in
            let port = stack.publisher.port
            let pid = try #require(stack.publisher.child.processID)
            var rng = SeededGenerator(seed: Self.seed)
            let cases = (0..<Self.count).map { _ in Self.generate(&rng) }
            let before = Self.residentKilobytes(pid)
            var peak = before
            var failures: [String] = []
            for start in stride(from: 0, to: cases.count, by: Self.concurrency) {
                let batch = cases[start..<min(start + Self.concurrency, cases.count)]
                let results = try await withThrowingTaskGroup(of: (Case, Int?, Duration).self) { group in
                    for testCase in batch {
                        group.addTask {
                            let (status, elapsed) = try await Self.run(testCase, port: port)
                            return (testCase, status, elapsed)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for (testCase, status, elapsed) in results {
                    if let status, !(400..<500).contains(status) {
                        failures.append("\(testCase.kind): status \(status)")
                    }
                    if elapsed > .seconds(Self.deadlineSeconds + 3) {
                        failures.append("\(testCase.kind): took \(elapsed)")
                    }
                }
                peak = max(peak, Self.residentKilobytes(pid))
            }
            #expect(failures.isEmpty, "\(failures.prefix(20))")
            #expect(before > 0)
            #expect(peak < before + 64 * 1024, "RSS \(before) kB before, \(peak) kB at peak")
            #expect((try await HTTPProbe.get(port: port, path: "/healthz")).status == 200)
            let post = try await stack.publisher.postForm("/add_post", [("text", "after the fuzz")])
            #expect(post.status == 303)
            #expect(try await stack.stats()["posts"] == "1")
        }
    }
}
