import Foundation
import RedisClient
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server` on a free loopback port, started for one test suite, benchmark or script and stopped after.
///
/// It runs in a fresh temporary directory, without persistence unless asked, and can be killed, paused and restarted
/// on the same port mid-test to exercise reconnects.
public final class LocalRedisServer: Sendable {
    public struct Options: Sendable {
        /// Append-only file with `fsync` on every write, so a `kill -9` and restart lose nothing.
        public var persistence = false
        /// `requirepass`, when set.
        public var password: String?
        /// More `redis-server` arguments, e.g. `["--client-output-buffer-limit", "pubsub 64kb 32kb 1"]`.
        public var extraArguments: [String] = []
        /// How long to wait for the first PING answer.
        public var startTimeout: Duration = .seconds(10)

        public init(persistence: Bool = false, password: String? = nil, extraArguments: [String] = []) {
            self.persistence = persistence
            self.password = password
            self.extraArguments = extraArguments
        }
    }

    public let port: Int
    public let directory: String
    public let options: Options
    private let child = Mutex<ChildProcess?>(nil)

    /// `redis://127.0.0.1:<port>` (with the password when one is set).
    public var url: String {
        if let password = options.password { return "redis://:\(password)@127.0.0.1:\(port)" }
        return "redis://127.0.0.1:\(port)"
    }

    public var configuration: RedisConfiguration {
        try! RedisConfiguration(url: url)
    }

    /// The running server's process id, or 0 when stopped.
    public var processID: pid_t { child.withLock { $0?.processID } ?? 0 }

    private init(port: Int, directory: String, options: Options) {
        self.port = port
        self.directory = directory
        self.options = options
    }

    deinit {
        child.withLock { $0 }?.kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts a server on a free port; retries on another port if the chosen one was taken meanwhile.
    public static func start(_ options: Options = Options()) async throws -> LocalRedisServer {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try freeLoopbackPort()
            let directory = try makeTemporaryDirectory()
            let server = LocalRedisServer(port: port, directory: directory, options: options)
            do {
                try await server.launch()
                return server
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    /// Starts the server again on the same port and directory (after ``kill()`` or ``stop()``).
    public func restart() async throws {
        precondition(processID == 0, "redis-server is still running")
        try await launch()
    }

    /// SIGKILL, as a crash would; waits until the process is gone.
    public func kill() {
        signalAndReap(SIGKILL)
    }

    /// SIGTERM (Redis shuts down cleanly, writing its data when persistent); waits until the process is gone.
    public func stop() {
        signalAndReap(SIGTERM)
    }

    /// SIGSTOP: the server keeps its sockets but answers nothing (connects then time out).
    public func pause() {
        child.withLock { $0 }?.signal(SIGSTOP)
    }

    /// SIGCONT after ``pause()``.
    public func resume() {
        child.withLock { $0 }?.signal(SIGCONT)
    }

    /// The server's log file, for diagnosing a failed start.
    public var logPath: String { directory + "/redis.log" }

    private func signalAndReap(_ signal: Int32) {
        let running = child.withLock { child in
            defer { child = nil }
            return child
        }
        guard let running else { return }
        running.signal(SIGCONT)
        running.signal(signal)
        // A persistent server writes its data before it exits: give it time, then make sure.
        if running.waitForExit(timeout: .seconds(60)) == nil { running.kill() }
    }

    private func launch() async throws {
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "no", "--daemonize", "no",
            "--dir", directory, "--logfile", logPath, "--save", "",
        ]
        if options.persistence {
            arguments += ["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            arguments += ["--appendonly", "no"]
        }
        if let password = options.password { arguments += ["--requirepass", password] }
        arguments += options.extraArguments
        let started = try ChildProcess(Self.executable(), arguments)
        child.withLock { $0 = started }

        let deadline = ContinuousClock.now + options.startTimeout
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            if started.reapIfExited() != nil {
                child.withLock { $0 = nil }
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw LocalRedisError.exited(port: port, log: String(log.suffix(2000)))
            }
            do {
                var configuration = self.configuration
                configuration.connectTimeout = .milliseconds(500)
                let connection = try await RedisConnection.connect(configuration: configuration)
                defer { connection.closeNow() }
                // The answer must come from this child: two starts at once can be offered the same free port, and
                // until the loser's process has exited, its PING reaches the winner's server.
                let info = try await connection.send("INFO", "server").string ?? ""
                if info.split(whereSeparator: \.isNewline).contains("process_id:\(started.processID ?? 0)") { return }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        signalAndReap(SIGKILL)
        throw LocalRedisError.notReady(port: port, lastError: "\(lastError.map { "\($0)" } ?? "none")")
    }

    /// The `redis-server` binary: `$REDIS_SERVER`, else the first one on `PATH`, else Debian's.
    static func executable() throws -> String {
        if let path = ProcessInfo.processInfo.environment["REDIS_SERVER"] { return path }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/sbin"] {
            let candidate = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw LocalRedisError.notInstalled
    }
}

public enum LocalRedisError: Error, CustomStringConvertible {
    case notInstalled
    case exited(port: Int, log: String)
    case notReady(port: Int, lastError: String)
    case system(String)

    public var description: String {
        switch self {
        case .notInstalled: return "redis-server not found on PATH (install Debian's redis-server)"
        case .exited(let port, let log): return "redis-server on port \(port) exited at start:\n\(log)"
        case .notReady(let port, let lastError): return "redis-server on port \(port) never answered PING: \(lastError)"
        case .system(let message): return message
        }
    }
}

/// Runs `body` with a fresh server and stops it afterwards, also when `body` throws.
public func withLocalRedis<T: Sendable>(
    _ options: LocalRedisServer.Options = .init(), _ body: (LocalRedisServer) async throws -> T
) async throws -> T {
    let server = try await LocalRedisServer.start(options)
    do {
        let result = try await body(server)
        server.kill()
        return result
    } catch {
        server.kill()
        throw error
    }
}
