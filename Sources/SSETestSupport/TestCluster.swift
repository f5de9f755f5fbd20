import Foundation
import Gateway
import LocalRedis

#if canImport(Glibc)
    import Glibc
#endif

/// The deployed topology for an end-to-end test: a real `redis-server`, N real `sse-gateway` nodes, optionally a
/// real `sse-publisher`, and a real nginx in front of them (configured as `deploy/local-cluster` configures it),
/// all on free loopback ports.
///
/// Tests talk to the cluster the way browsers and operators do: streams through ``NginxProcess/port``, node
/// figures through `/nodes/<n>/sse-metrics`. Processes are stopped (by pid) when the cluster goes away.
public final class TestCluster: Sendable {
    private let single: LocalRedisServer?
    /// The Redis server (for a Sentinel group, its first master); a cluster started on a Redis Cluster has none.
    public var redis: LocalRedisServer {
        guard let single else { preconditionFailure("this TestCluster runs on a Redis Cluster: use redisCluster") }
        return single
    }
    /// The Redis Cluster the processes run on, when started with ``start(redisCluster:nodeCount:gatewayArguments:withPublisher:publisherArguments:)``.
    public let redisCluster: LocalRedisCluster?
    /// The Sentinel group the processes run on, when started with ``start(sentinels:nodeCount:gatewayArguments:withPublisher:publisherArguments:)``
    /// (`redis` is then the group's first master, which a failover demotes).
    public let sentinels: LocalSentinelGroup?
    /// Node 1 is `nodes[0]`, reachable through nginx as `/nodes/1/…`.
    public let nodes: [GatewayProcess]
    public let nginx: NginxProcess
    /// The publisher behind nginx's `/`, when the cluster was started with one.
    public let publisher: PublisherProcess?

    private init(
        redis: LocalRedisServer?, sentinels: LocalSentinelGroup? = nil, redisCluster: LocalRedisCluster? = nil,
        nodes: [GatewayProcess], nginx: NginxProcess, publisher: PublisherProcess?
    ) {
        self.single = redis
        self.sentinels = sentinels
        self.redisCluster = redisCluster
        self.nodes = nodes
        self.nginx = nginx
        self.publisher = publisher
    }

    /// Starts Redis, `nodeCount` gateways (each with `gatewayArguments`), the publisher when `withPublisher`, and
    /// nginx, and waits until every node is ready through nginx. Without a publisher, nginx's `/` points at a free
    /// port nothing listens on; `publisherArguments` are the publisher's extra flags. `nginxPort` and `staticFolders` are passed to ``NginxProcess/start``: a test
    /// that serves its own pages names the public port first, so the gateways' allowed origins can contain it.
    public static func start(
        nodeCount: Int = 3, redis options: LocalRedisServer.Options = .init(), gatewayArguments: [String] = [],
        withPublisher: Bool = false, publisherArguments: [String] = [], nginxPort: Int? = nil,
        staticFolders: [String: String] = [:]
    ) async throws -> TestCluster {
        let redis = try await LocalRedisServer.start(options)
        return try await launch(
            redis: redis, url: redis.url, sentinels: nil, nodeCount: nodeCount, gatewayArguments: gatewayArguments,
            withPublisher: withPublisher, publisherArguments: publisherArguments, nginxPort: nginxPort,
            staticFolders: staticFolders)
    }

    /// The same on a running Sentinel group: every process gets the group's `redis-sentinel://` URL.
    public static func start(
        sentinels: LocalSentinelGroup, nodeCount: Int = 2, gatewayArguments: [String] = [],
        withPublisher: Bool = false, publisherArguments: [String] = []
    ) async throws -> TestCluster {
        try await launch(
            redis: sentinels.servers[0], url: sentinels.url, sentinels: sentinels, nodeCount: nodeCount,
            gatewayArguments: gatewayArguments, withPublisher: withPublisher, publisherArguments: publisherArguments,
            nginxPort: nil, staticFolders: [:])
    }

    /// The same on a running Redis Cluster: every process gets its `redis-cluster://` URL (every node a seed).
    public static func start(
        redisCluster: LocalRedisCluster, nodeCount: Int = 2, gatewayArguments: [String] = [],
        withPublisher: Bool = false, publisherArguments: [String] = [], nginxPort: Int? = nil,
        staticFolders: [String: String] = [:]
    ) async throws -> TestCluster {
        try await launch(
            redis: nil, url: seedURL(of: redisCluster), sentinels: nil, redisCluster: redisCluster,
            nodeCount: nodeCount, gatewayArguments: gatewayArguments, withPublisher: withPublisher,
            publisherArguments: publisherArguments, nginxPort: nginxPort, staticFolders: staticFolders)
    }

    /// `redis-cluster://` with every node of `cluster` as a seed.
    public static func seedURL(of cluster: LocalRedisCluster) -> String {
        "redis-cluster://" + cluster.nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
    }

    private static func launch(
        redis: LocalRedisServer?, url: String, sentinels: LocalSentinelGroup?, redisCluster: LocalRedisCluster? = nil,
        nodeCount: Int,
        gatewayArguments: [String], withPublisher: Bool, publisherArguments: [String], nginxPort: Int?,
        staticFolders: [String: String]
    ) async throws -> TestCluster {
        var nodes: [GatewayProcess] = []
        for _ in 0..<nodeCount {
            nodes.append(try await GatewayProcess.start(redisURL: url, arguments: gatewayArguments))
        }
        let publisher =
            withPublisher ? try await PublisherProcess.start(redisURL: url, arguments: publisherArguments) : nil
        let nginx = try await NginxProcess.start(
            gateways: nodes.map(\.port), publisherPort: try publisher?.port ?? freeLoopbackPort(), port: nginxPort,
            staticFolders: staticFolders)
        let cluster = TestCluster(
            redis: redis, sentinels: sentinels, redisCluster: redisCluster, nodes: nodes, nginx: nginx,
            publisher: publisher)
        for number in 1...nodeCount {
            try await waitUntil("node \(number) ready through nginx") {
                (try? await HTTPProbe.get(port: nginx.port, path: "/nodes/\(number)/readyz"))?.status == 200
            }
        }
        return cluster
    }

    /// The public port (nginx).
    public var port: Int { nginx.port }

    /// The node id each node reports (`: connected to <id>`, `/sse-metrics`), in node order.
    public var nodeIDs: [String] { nodes.map { "test-\($0.port)" } }

    /// Node `number`'s (1-based) `/sse-metrics`, fetched through nginx as an operator would.
    public func metrics(ofNode number: Int) async throws -> MetricsSnapshot {
        try await MetricsSnapshot.fetch(port: nginx.port, path: "/nodes/\(number)/sse-metrics")
    }

    /// Opens `count` EventSource-like clients on `path` through nginx, one after the other (as browsers arrive),
    /// and waits until every one has an open stream.
    public func openClients(_ count: Int, path: String, retry: Duration = .milliseconds(300)) async throws
        -> [ReconnectingSSEClient]
    {
        var clients: [ReconnectingSSEClient] = []
        for _ in 0..<count {
            let client = ReconnectingSSEClient.open(port: nginx.port, path: path, defaultRetry: retry)
            clients.append(client)
            try await client.waitUntilConnected()
        }
        return clients
    }

    /// The pid of node `number` (1-based), for a program that must signal it itself (the browser test).
    ///
    /// Found among this process's own children by the `--port` it was started with, so it can only ever name a
    /// node this cluster started; nil once the node has exited.
    public func processID(ofNode number: Int) -> Int32? {
        let port = String(nodes[number - 1].port)
        let me = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let fields = stat.split(separator: ")").last?.split(separator: " "),
                fields.count > 2, fields[0] != "Z", Int32(fields[1]) == me,
                let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { continue }
            let arguments = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if arguments.first?.hasSuffix("/sse-gateway") == true,
                let flag = arguments.firstIndex(of: "--port"), flag + 1 < arguments.count, arguments[flag + 1] == port
            {
                return pid
            }
        }
        return nil
    }

    /// Stops nginx, the publisher, the nodes and Redis (SIGKILL for those still running).
    public func stop() {
        nginx.kill()
        publisher?.kill()
        for node in nodes { node.kill() }
        if let sentinels { sentinels.stop() } else if let redisCluster { redisCluster.stop() } else { single?.kill() }
    }
}
