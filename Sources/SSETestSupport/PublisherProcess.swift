import Foundation
import LocalRedis
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real `sse-publisher` process (the one `swift test` built beside the test bundle) on a free loopback port.
public final class PublisherProcess: Sendable {
    public let port: Int
    public let logPath: String
    private let pid = Mutex<pid_t>(0)
    private let exitStatus = Mutex<Int32?>(nil)

    /// The built binary: a sibling of the running test bundle (its resource bundle sits beside it too).
    public static var executable: String {
        let me =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("sse-publisher").path
    }

    /// Starts a publisher on `redis` with extra flags and environment variables, and waits until `/readyz` answers
    /// 200 (or `/healthz`, if `waitForReady` is false).
    public static func start(
        redis: LocalRedisServer, arguments: [String] = [], environment: [String: String] = [:],
        waitForReady: Bool = true
    ) async throws -> PublisherProcess {
        let port = try freeLoopbackPort()
        let logPath = NSTemporaryDirectory() + "/sse-publisher-\(port).log"
        let process = PublisherProcess(port: port, logPath: logPath)
        let child = try spawnProcess(
            executable, ["--port", String(port), "--redis-url", redis.url, "--log-level", "debug"] + arguments,
            environment: environment, outputPath: logPath)
        process.pid.withLock { $0 = child }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let response = try? await HTTPProbe.get(port: port, path: waitForReady ? "/readyz" : "/healthz"),
                response.status == 200
            {
                return process
            }
            if process.reapIfExited() != nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.kill()
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw PublisherProcessError(message: "sse-publisher on port \(port) did not become ready:\n\(log.suffix(3000))")
    }

    private init(port: Int, logPath: String) {
        self.port = port
        self.logPath = logPath
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// Sends one request with a body (`Content-Length` set, `Connection: close`) and returns the whole answer.
    public func send(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: String = ""
    ) async throws -> HTTPProbe.Response {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        return try await HTTPProbe.send(port: port, raw: request)
    }

    /// `POST path` with a form-encoded body built from `fields` (each name and value percent-encoded).
    public func postForm(
        _ path: String, _ fields: [(String, String)], headers: [(String, String)] = []
    ) async throws -> HTTPProbe.Response {
        let body = fields.map { "\(Self.formEncoded($0.0))=\(Self.formEncoded($0.1))" }.joined(separator: "&")
        return try await send(
            "POST", path, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers, body: body)
    }

    /// `application/x-www-form-urlencoded` encoding of one name or value, as browsers do it (space as `+`).
    public static func formEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "*"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "): out += "+"
            default: out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    public func signal(_ number: Int32) {
        let running = pid.withLock { $0 }
        if running > 0 { Glibc.kill(running, number) }
    }

    /// SIGKILL and reap.
    public func kill() {
        signal(SIGCONT)
        signal(SIGKILL)
        _ = waitForExit(timeout: .seconds(5))
    }

    /// The exit status once the process has ended (non-blocking).
    public func reapIfExited() -> Int32? {
        if let status = exitStatus.withLock({ $0 }) { return status }
        let running = pid.withLock { $0 }
        guard running > 0 else { return nil }
        var status: Int32 = 0
        guard waitpid(running, &status, WNOHANG) == running else { return nil }
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exitStatus.withLock { $0 = code }
        pid.withLock { $0 = 0 }
        return code
    }

    /// Waits for the process to end; nil if it is still running after `timeout`.
    @discardableResult
    public func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = reapIfExited() { return status }
            usleep(10_000)
        }
        return reapIfExited()
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

public struct PublisherProcessError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
