import Foundation
import LocalRedis
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real nginx in front of a test cluster, configured exactly as `deploy/local-cluster` configures it: the
/// repository's `nginx/*.conf` plus the cluster files `deploy/nginx-cluster-conf` writes for the given addresses.
///
/// It runs as the calling user with its own prefix directory (pid, logs, temp files), on a free loopback port, in
/// the foreground (`daemon off`), so its pid is the master's and stopping it touches no other nginx on the machine.
public final class NginxProcess: Sendable {
    /// The public port: `/sse`, `/nodes/<n>/…`, and everything else to the publisher.
    public let port: Int
    /// nginx's prefix directory (`conf/`, `logs/`, temp directories); removed when the process object goes away.
    public let prefix: String
    private let child = Mutex<ChildProcess?>(nil)

    /// The repository root, found from this source file's path (tests run from the build tree of the checkout).
    public static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    /// The nginx binary: `$NGINX`, else the first on `PATH`, else Debian's `/usr/sbin/nginx` (not on a user's PATH).
    public static func executable() throws -> String {
        try findExecutable("nginx", environmentOverride: "NGINX")
    }

    /// Writes the configuration into a fresh prefix, checks it with `nginx -t`, starts nginx and waits until it
    /// answers `/lb-healthz`.
    ///
    /// - Parameters:
    ///   - gateways: node ports, in node order (`/nodes/1/…` is the first).
    ///   - publisherPort: the publisher's port; nothing needs to listen there when a test does not use it.
    ///   - port: the public port to use, for a test that must name it before nginx starts (the gateways'
    ///     allowed origins); nil picks a free one (and another if that one is taken meanwhile).
    ///   - staticFolders: URL prefix (`/compat/`) → directory that nginx serves as files (see
    ///     ``writeConfiguration(prefix:listen:publisher:gateways:staticFolders:)``).
    public static func start(
        gateways: [Int], publisherPort: Int, port fixedPort: Int? = nil, staticFolders: [String: String] = [:]
    ) async throws -> NginxProcess {
        var lastError: (any Error)?
        for _ in 0..<(fixedPort == nil ? 3 : 1) {
            let port = try fixedPort ?? freeLoopbackPort()
            let prefix = try makeDirectory("nginx")
            let nginx = NginxProcess(port: port, prefix: prefix)
            do {
                try await writeConfiguration(
                    prefix: prefix, listen: "127.0.0.1:\(port)", publisher: "127.0.0.1:\(publisherPort)",
                    gateways: gateways.map { "127.0.0.1:\($0)" }, staticFolders: staticFolders)
                try await nginx.launch()
                return nginx
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    /// Copies `nginx/*.conf` into `prefix/conf/` and runs `deploy/nginx-cluster-conf` into `prefix/conf/cluster/`.
    ///
    /// Each entry of `staticFolders` (URL prefix ending in `/` → directory) adds a location to the generated
    /// `cluster/server.conf` that serves the directory's files with HTML and JavaScript content types: test
    /// pages that must come from nginx's own origin (same-origin streams) or from another name for it
    /// (`localhost` for cross-origin ones). Deployments never get these locations.
    public static func writeConfiguration(
        prefix: String, listen: String, publisher: String, gateways: [String], staticFolders: [String: String] = [:]
    ) async throws {
        let files = FileManager.default
        let conf = prefix + "/conf"
        try files.createDirectory(atPath: conf, withIntermediateDirectories: true)
        try files.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        let source = repositoryRoot + "/nginx"
        for name in try files.contentsOfDirectory(atPath: source) where name.hasSuffix(".conf") {
            try? files.removeItem(atPath: conf + "/" + name)
            try files.copyItem(atPath: source + "/" + name, toPath: conf + "/" + name)
        }
        let result = try await runProgram(
            "/bin/bash",
            [repositoryRoot + "/deploy/nginx-cluster-conf", conf + "/cluster", listen, publisher] + gateways)
        guard result.status == 0 else {
            throw NginxProcessError(message: "deploy/nginx-cluster-conf exited \(result.status): \(result.output)")
        }
        guard !staticFolders.isEmpty else { return }
        // `^~`: the prefix wins over the regex locations; nginx.conf has no mime.types, so the types are named here.
        let locations = staticFolders.sorted { $0.key < $1.key }.map { location, directory in
            let folder = directory.hasSuffix("/") ? directory : directory + "/"
            return """

                location ^~ \(location) {
                    alias \(folder);
                    types { text/html html; text/javascript js; text/css css; }
                    default_type text/plain;
                    add_header Cache-Control no-store;
                }

                """
        }
        let server = FileHandle(forWritingAtPath: conf + "/cluster/server.conf")
        try server?.seekToEnd()
        try server?.write(contentsOf: Data(locations.joined().utf8))
        try server?.close()
    }

    /// `nginx -t` on the configuration in `prefix`: the exit status and nginx's messages.
    public static func test(prefix: String) async throws -> ProgramResult {
        try await runProgram(
            executable(),
            ["-t", "-p", prefix + "/", "-c", prefix + "/conf/nginx.conf", "-e", prefix + "/logs/error.log"])
    }

    private init(port: Int, prefix: String) {
        self.port = port
        self.prefix = prefix
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: prefix)
    }

    private func launch() async throws {
        let check = try await Self.test(prefix: prefix)
        guard check.status == 0 else {
            throw NginxProcessError(message: "nginx -t rejected the configuration:\n\(check.output)")
        }
        let started = try ChildProcess(
            Self.executable(),
            [
                "-p", prefix + "/", "-c", prefix + "/conf/nginx.conf", "-e", prefix + "/logs/error.log",
                "-g", "daemon off;",
            ],
            output: .file(prefix + "/logs/stderr.log"))
        child.withLock { $0 = started }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let response = try? await HTTPProbe.get(port: port, path: "/lb-healthz"), response.status == 200 {
                return
            }
            if started.reapIfExited() != nil {
                child.withLock { $0 = nil }
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill()
        throw NginxProcessError(message: "nginx on port \(port) did not start:\n\(errorLog.suffix(2000))")
    }

    /// The master's pid, 0 once stopped.
    public var processID: pid_t { child.withLock { $0?.processID } ?? 0 }

    /// nginx's error log (also holds `nginx -t` output).
    public var errorLog: String { (try? String(contentsOfFile: prefix + "/logs/error.log", encoding: .utf8)) ?? "" }

    /// The access log: one line per request with the upstream(s) tried (`upstream=`) and their statuses.
    public var accessLog: String {
        (try? String(contentsOfFile: prefix + "/logs/access.log", encoding: .utf8)) ?? ""
    }

    /// SIGTERM (nginx's fast shutdown: open streams are closed at once) and reap.
    public func kill() {
        let running = child.withLock { child in
            defer { child = nil }
            return child
        }
        guard let running else { return }
        running.signal(SIGTERM)
        if running.waitForExit(timeout: .seconds(5)) == nil { running.kill() }
    }
}

public struct NginxProcessError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}
