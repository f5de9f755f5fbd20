import Foundation
import LocalRedis
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real `sse-publisher` process (the one `swift test` built beside the test bundle) on a free loopback port.
public final class PublisherProcess: ServerProcess {
    public let port: Int
    public let logPath: String
    public let child: ChildProcess

    /// The built binary: a sibling of the running test bundle (its resource bundle sits beside it too).
    public static var executable: String { ChildProcess.siblingExecutable("sse-publisher") }

    /// Starts a publisher on `redis` with extra flags and environment variables, and waits until `/readyz` answers
    /// 200 (or `/healthz`, if `waitForReady` is false).
    public static func start(
        redis: LocalRedisServer, arguments: [String] = [], environment: [String: String] = [:],
        waitForReady: Bool = true
    ) async throws -> PublisherProcess {
        try await start(redisURL: redis.url, arguments: arguments, environment: environment, waitForReady: waitForReady)
    }

    /// Starts a publisher on any Redis URL (a Sentinel group's, say).
    public static func start(
        redisURL: String, arguments: [String] = [], environment: [String: String] = [:], waitForReady: Bool = true
    ) async throws -> PublisherProcess {
        let (child, port, logPath) = try await ChildProcess.startServer(
            name: "sse-publisher",
            arguments: { port in
                ["--port", String(port), "--redis-url", redisURL, "--log-level", "debug"] + arguments
            }, environment: environment, logName: "sse-publisher", readyPath: waitForReady ? "/readyz" : "/healthz")
        return PublisherProcess(port: port, logPath: logPath, child: child)
    }

    private init(port: Int, logPath: String, child: ChildProcess) {
        self.port = port
        self.logPath = logPath
        self.child = child
    }

    deinit {
        child.kill()
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
}
