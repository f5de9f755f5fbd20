import Foundation
import LocalRedis
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real `sse-gateway` process (the one `swift test` built beside the test bundle) on a free loopback port.
public final class GatewayProcess: Sendable {
    public let port: Int
    public let logPath: String
    private let pid = Mutex<pid_t>(0)
    private let exitStatus = Mutex<Int32?>(nil)

    /// The built binary: a sibling of the running test bundle.
    public static var executable: String {
        let me =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("sse-gateway").path
    }

    /// Starts a node on `redis` with extra flags and waits until `/readyz` answers 200 (or `/healthz` if
    /// `waitForReady` is false).
    public static func start(redis: LocalRedisServer, arguments: [String] = [], waitForReady: Bool = true) async throws
        -> GatewayProcess
    {
        let port = try freeLoopbackPort()
        let logPath = NSTemporaryDirectory() + "/sse-gateway-\(port).log"
        let node = GatewayProcess(port: port, logPath: logPath)
        let child = try spawnProcess(
            executable,
            ["--port", String(port), "--redis-url", redis.url, "--node-id", "test-\(port)", "--log-level", "debug"]
                + arguments,
            outputPath: logPath)
        node.pid.withLock { $0 = child }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let response = try? await HTTPProbe.get(port: port, path: waitForReady ? "/readyz" : "/healthz"),
                response.status == 200
            {
                return node
            }
            if node.reapIfExited() != nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        node.kill()
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw GatewayProcessError(message: "sse-gateway on port \(port) did not become ready:\n\(log.suffix(3000))")
    }

    private init(port: Int, logPath: String) {
        self.port = port
        self.logPath = logPath
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: logPath)
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

    /// The node's `/sse-metrics` JSON.
    public func metrics() async throws -> [String: Any] {
        let response = try await HTTPProbe.get(port: port, path: "/sse-metrics")
        guard response.status == 200 else {
            throw GatewayProcessError(message: "/sse-metrics on port \(port) answered \(response.status)")
        }
        return try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any] ?? [:]
    }
}

public struct GatewayProcessError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
