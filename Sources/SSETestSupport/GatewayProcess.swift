import Foundation
import Gateway
import LocalRedis
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real `sse-gateway` process (the one `swift test` built beside the test bundle) on a free loopback port.
public final class GatewayProcess: ServerProcess {
    public let port: Int
    public let logPath: String
    public let child: ChildProcess

    /// The built binary: a sibling of the running test bundle.
    public static var executable: String { ChildProcess.siblingExecutable("sse-gateway") }

    /// Starts a node on `redis` with extra flags and waits until `/readyz` answers 200 (or `/healthz` if
    /// `waitForReady` is false).
    /// With `fileLimit` the node runs with that many file descriptors at most (soft and hard, through `prlimit`).
    public static func start(
        redis: LocalRedisServer, arguments: [String] = [], waitForReady: Bool = true, fileLimit: Int? = nil
    ) async throws -> GatewayProcess {
        try await start(redisURL: redis.url, arguments: arguments, waitForReady: waitForReady, fileLimit: fileLimit)
    }

    /// Starts a node on any Redis URL (a Sentinel group's, say).
    public static func start(
        redisURL: String, arguments: [String] = [], waitForReady: Bool = true, fileLimit: Int? = nil
    ) async throws -> GatewayProcess {
        let (child, port, logPath) = try await ChildProcess.startServer(
            name: "sse-gateway",
            arguments: { port in
                ["--port", String(port), "--redis-url", redisURL, "--node-id", "test-\(port)", "--log-level", "debug"]
                    + arguments
            }, logName: "sse-gateway", readyPath: waitForReady ? "/readyz" : "/healthz",
            launcher: fileLimit.map { ["/usr/bin/prlimit", "--nofile=\($0):\($0)"] } ?? [])
        return GatewayProcess(port: port, logPath: logPath, child: child)
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

    /// The node's `/sse-metrics`, decoded into the gateway's own typed document.
    public func metrics() async throws -> MetricsSnapshot {
        try await MetricsSnapshot.fetch(port: port, path: "/sse-metrics")
    }
}
