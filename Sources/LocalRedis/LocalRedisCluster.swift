import Foundation
import RedisClient
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real Redis Cluster on loopback: `primaries` primaries with `replicasPerPrimary` replicas each, every node a
/// `redis-server --cluster-enabled yes` on free ports (client port and cluster bus port both picked free), joined
/// with `redis-cli --cluster create`. For tests that need slots, redirects, migrations and failovers.
///
/// Nodes can be killed, frozen and thawed, slots migrated and replicas promoted; see `LocalRedisCluster+Operations`.
public final class LocalRedisCluster: Sendable {
    public struct Options: Sendable {
        public var primaries = 3
        public var replicasPerPrimary = 1
        /// `cluster-node-timeout`: how long a silent primary stays a primary before its replica takes over.
        public var nodeTimeout: Duration = .milliseconds(1000)
        /// How long the whole start (servers, create, agreement) may take.
        public var startTimeout: Duration = .seconds(60)
        public var extraArguments: [String] = []

        public init(primaries: Int = 3, replicasPerPrimary: Int = 1) {
            self.primaries = primaries
            self.replicasPerPrimary = replicasPerPrimary
        }
    }

    /// One `redis-server` of the cluster.
    public final class Node: Sendable {
        public let port: Int
        public let busPort: Int
        let child: Mutex<ChildProcess?>

        init(port: Int, busPort: Int, child: ChildProcess) {
            self.port = port
            self.busPort = busPort
            self.child = Mutex(child)
        }

        public var endpoint: RedisConfiguration.Endpoint { .tcp(host: "127.0.0.1", port: port) }
        public var configuration: RedisConfiguration { RedisConfiguration(endpoint: endpoint) }
        /// The process id while it runs, 0 once killed.
        public var processID: pid_t { child.withLock { $0?.processID } ?? 0 }
    }

    public let options: Options
    public let directory: String
    public let nodes: [Node]

    /// The client ports, for seeds.
    public var seeds: [RedisConfiguration.Endpoint] { nodes.map(\.endpoint) }
    /// Credentials and timeouts for a cluster client (none are set; the endpoint is the first node's).
    public var configuration: RedisConfiguration { nodes[0].configuration }

    private init(options: Options, directory: String, nodes: [Node]) {
        self.options = options
        self.directory = directory
        self.nodes = nodes
    }

    deinit {
        for node in nodes { node.child.withLock { $0 }?.kill() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts the servers, creates the cluster and waits until every node says `cluster_state:ok` with every slot
    /// assigned and knows every other node.
    public static func start(_ options: Options = Options()) async throws -> LocalRedisCluster {
        let directory = try makeTemporaryDirectory()
        let total = options.primaries * (1 + options.replicasPerPrimary)
        var ports = Set<Int>()
        while ports.count < total * 2 { ports.insert(try freeLoopbackPort()) }
        let picked = Array(ports)
        let executable = try LocalRedisServer.executable()
        var nodes: [Node] = []
        do {
            for index in 0..<total {
                let port = picked[2 * index]
                let busPort = picked[2 * index + 1]
                nodes.append(
                    Node(
                        port: port, busPort: busPort,
                        child: try launch(executable, port: port, busPort: busPort, directory: directory, options)))
            }
            let cluster = LocalRedisCluster(options: options, directory: directory, nodes: nodes)
            let deadline = ContinuousClock.now + options.startTimeout
            for node in nodes {
                try await waitUntil("redis-server on port \(node.port) answers", timeout: options.startTimeout) {
                    (try? await cluster.command(node.port, ["PING"]).string) == "PONG"
                }
            }
            try await cluster.create()
            try await cluster.waitUntilHealthy(timeout: deadline - ContinuousClock.now)
            return cluster
        } catch {
            for node in nodes { node.child.withLock { $0 }?.kill() }
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    static func launch(
        _ executable: String, port: Int, busPort: Int, directory: String, _ options: Options
    ) throws -> ChildProcess {
        let arguments =
            [
                "--port", String(port), "--cluster-port", String(busPort), "--bind", "127.0.0.1",
                "--protected-mode", "no", "--daemonize", "no", "--dir", directory,
                "--logfile", "\(directory)/redis-\(port).log", "--save", "", "--appendonly", "no",
                "--dbfilename", "dump-\(port).rdb",
                // A replica must have synced before it may be promoted; the default waits 5 s for more
                // replicas before a diskless sync, longer than a test waits before killing a primary.
                "--repl-diskless-sync-delay", "0", "--cluster-replica-validity-factor", "0",
                "--cluster-enabled", "yes", "--cluster-config-file", "\(directory)/nodes-\(port).conf",
                "--cluster-node-timeout",
                String(
                    options.nodeTimeout.components.seconds * 1000
                        + options.nodeTimeout.components.attoseconds / 1_000_000_000_000_000),
            ] + options.extraArguments
        return try ChildProcess(executable, arguments)
    }

    private func create() async throws {
        let cli = try ChildProcess.locate("redis-cli", environmentOverride: "REDIS_CLI")
        let arguments =
            ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" }
            + ["--cluster-replicas", String(options.replicasPerPrimary), "--cluster-yes"]
        let log = "\(directory)/cluster-create.log"
        let process = try ChildProcess(cli, arguments, output: .file(log))
        guard let status = await process.exit(within: options.startTimeout), status == 0 else {
            process.kill()
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw LocalRedisError.system("redis-cli --cluster create failed:\n\(text.suffix(2000))")
        }
    }

    /// Stops every node (SIGKILL: nothing is persisted anyway).
    public func stop() {
        for node in nodes {
            let running = node.child.withLock { child in
                defer { child = nil }
                return child
            }
            running?.kill()
        }
    }

    /// The node listening on `port`.
    public func node(port: Int) -> Node {
        guard let node = nodes.first(where: { $0.port == port }) else { preconditionFailure("no node on \(port)") }
        return node
    }

    /// Sends one command on a short-lived connection to the node on `port`; error replies come back inline.
    public func command(_ port: Int, _ words: [String], timeout: Duration = .seconds(2)) async throws -> RedisReply {
        var configuration = node(port: port).configuration
        configuration.connectTimeout = timeout
        let connection = try await RedisConnection.connect(configuration: configuration)
        defer { connection.closeNow() }
        return try await connection.withDeadline(timeout, doing: words.first ?? "") { connection in
            try await connection.pipeline([RedisCommand(words[0], arguments: Array(words.dropFirst()))])[0]
        }
    }
}
