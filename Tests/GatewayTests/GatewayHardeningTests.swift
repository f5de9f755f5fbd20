import Foundation
import Gateway
import LocalRedis
import NIOCore
import SSETestSupport
import Synchronization
import Testing

/// The gateway's front door under hostile input (issue "Hardening"): each test failed on the code before its fix.
@Suite("Gateway front door: deadlines, limits, pipelining, Host (real redis-server and sse-gateway)")
struct GatewayHardeningTests {
    /// A body that never completes gets 408 within the body timeout and the connection closes; so does a chunked
    /// body that never ends and a body on `GET /sse`; a body over the limit gets 413. Before: no answer, no close.
    @Test func unfinishedAndOversizedBodiesAreAnsweredAndClosed() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis, arguments: ["--body-timeout", "0.5", "--max-body-bytes", "1000"])
            let slow = [
                "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
                "GET /sse?topic=t HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
                "POST /sse-metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
            ]
            // Each must be answered within 5 s (a 0.5 s body timeout; the old node never answered).
            let clients = try await slow.asyncMap {
                try await SSETestClient.open(port: node.port, path: "", rawRequest: $0)
            }
            for (client, request) in zip(clients, slow) {
                try await waitUntil("an unfinished body is answered", timeout: .seconds(5)) { client.isClosed }
                #expect(client.status == 408, "\(request.prefix(30))")
                #expect(String(decoding: client.body, as: UTF8.self) == "request body not complete within 0.5 s\n")
            }
            let big = try await SSETestClient.open(
                port: node.port, path: "",
                rawRequest: "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
                    + String(repeating: "z", count: 5000))
            try await waitUntil("an oversized body is answered") { big.isClosed }
            #expect(big.status == 413)
            #expect(
                String(decoding: big.body, as: UTF8.self)
                    == "request body too large: at most 1000 bytes (no route takes one)\n")
            // A small complete body is read and dropped; the route answers as usual.
            let small = try await HTTPProbe.send(
                port: node.port,
                raw: "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
            #expect(small.status == 405)
        }
    }

    /// RFC 9112 §3.2: an HTTP/1.1 request without `Host`, or with two, is a 400. Before: 200.
    @Test func anHTTP11RequestNeedsExactlyOneHost() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let missing = try await HTTPProbe.send(
                port: node.port, raw: "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(missing.status == 400 && missing.body == "missing Host header\n")
            let twice = try await HTTPProbe.send(
                port: node.port, raw: "GET /sse?topic=t HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n")
            #expect(twice.status == 400 && twice.body == "2 Host headers: send exactly one\n")
            let old = try await HTTPProbe.send(port: node.port, raw: "GET /healthz HTTP/1.0\r\n\r\n")
            #expect(old.status == 200 && old.body == "ok\n")
        }
    }

    /// A client that pipelines requests and reads no answers is not read any further while an answer is unsent
    /// (and is closed past 128 waiting requests): the node's memory stays flat. Before: 8 MB of requests took the
    /// node from 29 MB to 207 MB.
    @Test func pipelinedRequestsAreNotReadWhileAnswersAreUnsent() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let pid = try #require(node.child.processID)
            let before = try residentKilobytes(pid)
            let request = "GET /sse-metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            let flood = String(repeating: request, count: 8 * 1024 * 1024 / request.utf8.count)
            let client = try await SSETestClient.open(port: node.port, path: "", reading: false, rawRequest: "")
            client.channel.writeAndFlush(ByteBuffer(string: flood), promise: nil)
            try await waitUntil("the node closes the flooding connection") { client.isClosed }
            let during = try residentKilobytes(pid)
            #expect(during - before < 16 * 1024, "resident \(before) KB before, \(during) KB after the flood")
            // Answers are written as fast as the kernel takes them (a few MB of socket buffers), no faster.
            let answered = try await node.metrics().requestsTotal
            #expect(
                answered < 10_000, "\(answered) of \(8 * 1024 * 1024 / request.utf8.count) pipelined requests answered")
            // Others are served as usual.
            #expect(try await HTTPProbe.get(port: node.port, path: "/healthz").body == "ok\n")
            // Pipelining itself still works: three requests in one write get three answers in order.
            let three = try await HTTPProbe.send(
                port: node.port,
                raw: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            // The first answer's body is followed by the next answers, as they came.
            #expect(three.status == 200)
            #expect(three.body.hasPrefix("ok\nHTTP/1.1 200 OK\r\n"))
            #expect(three.body.contains("\r\n\r\nready\nHTTP/1.1 404 Not Found\r\n"))
            #expect(three.body.hasSuffix("\r\n\r\nno route for /nope: try /sse?topic=NAME\n"))
        }
    }

    /// At its open-file limit the node pauses accepting (a warning, `accept_backoffs`) instead of spinning, answers
    /// the connections it cannot serve 503 (a reserved descriptor, `shed_connections`), and serves again once
    /// descriptors are free. Before: one loop at 100 % of a core, nothing logged, waiting clients never answered.
    @Test func atItsFileLimitTheNodeBacksOffAndRecovers() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis, fileLimit: 96)
            let pid = try #require(node.child.processID)
            var clients: [SSETestClient] = []
            for _ in 0..<120 {
                clients.append(try await SSETestClient.open(port: node.port, path: "/sse?topic=full"))
            }
            try await waitUntil("the warning is logged") { node.log.contains("cannot accept connections") }
            let cpuBefore = try cpuSeconds(pid)
            try await Task.sleep(for: .seconds(2))  // the interval the CPU time is measured over
            let used = try cpuSeconds(pid) - cpuBefore
            #expect(used < 0.5, "the node used \(used) s of CPU in 2 s at its file limit")
            #expect(node.log.contains("out of file descriptors"))
            let shed = clients.filter { $0.status == 503 }
            #expect(!shed.isEmpty)
            let shedBodies = shed.map { String(decoding: $0.body, as: UTF8.self) }
            #expect(
                shedBodies.allSatisfy { $0 == "node out of file descriptors: retry later\n" },
                "503 bodies: \(Dictionary(shedBodies.map { ($0, 1) }, uniquingKeysWith: +))")
            for client in clients { client.close() }
            try await waitUntil("the node serves again", timeout: .seconds(10)) {
                (try? await HTTPProbe.get(port: node.port, path: "/healthz"))?.status == 200
            }
            let metrics = try await node.metrics()
            #expect(metrics.acceptBackoffs > 0)
            #expect(metrics.shedConnections == shed.count)
            // The probe's connection could not be opened at the limit: skipped, not failed. Before, the link was
            // replaced (not ready, a 503 "node not ready" among the sheds, a resync) at every probe.
            #expect(metrics.redis.links.map(\.probeFailures) == [0])
            #expect(!node.log.contains("failed its probe"))
        }
    }
}

/// A flag set from an event loop and read from a test.
final class ManagedAtomicFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// The resident set size of a process, in kilobytes (`VmRSS` of /proc/PID/status).
func residentKilobytes(_ pid: pid_t) throws -> Int {
    let text = String(
        decoding: FileHandle(forReadingAtPath: "/proc/\(pid)/status")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let value = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { throw ProbeError("no VmRSS for \(pid)") }
    return value
}

/// User plus system CPU time of a process, in seconds (/proc/PID/stat, clock ticks of 1/100 s).
func cpuSeconds(_ pid: pid_t) throws -> Double {
    let text = String(
        decoding: FileHandle(forReadingAtPath: "/proc/\(pid)/stat")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
    // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are 14 and 15.
    guard let close = text.lastIndex(of: ")") else { throw ProbeError("no stat for \(pid)") }
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else {
        throw ProbeError("unreadable stat for \(pid)")
    }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

struct ProbeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
