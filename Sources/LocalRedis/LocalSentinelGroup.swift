import Foundation
import RedisClient
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real Redis Sentinel group on free loopback ports: a master, one replica (`--replicaof`) and three sentinels
/// (`redis-server <conf> --sentinel`, quorum 2, down after 1 s), for tests of failover.
///
/// Each sentinel gets its own writable config file in the group's temporary directory (sentinels rewrite it as they
/// learn the group). ``start(masterName:)`` returns once every sentinel knows the master, the replica and the two
/// other sentinels, so a failover can be started at once.
public final class LocalSentinelGroup: Sendable {
    public let masterName: String
    /// The data servers, the first started as the master and the second as its replica (roles change on failover).
    public let servers: [LocalRedisServer]
    public let sentinelPorts: [Int]
    public let directory: String
    private let sentinels: Mutex<[ChildProcess?]>

    private init(
        masterName: String, servers: [LocalRedisServer], sentinelPorts: [Int], directory: String,
        sentinels: [ChildProcess]
    ) {
        self.masterName = masterName
        self.servers = servers
        self.sentinelPorts = sentinelPorts
        self.directory = directory
        self.sentinels = Mutex(sentinels)
    }

    deinit { stop() }

    /// `redis-sentinel://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C/<master name>`.
    public var url: String {
        "redis-sentinel://" + sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") + "/\(masterName)"
    }

    public var topology: RedisTopology { try! RedisTopology(url: url) }

    /// - Parameter downAfter: how long the master must not answer before sentinels call it down (1 s, so kills fail
    ///   over quickly; longer for tests that must see no failover).
    public static func start(masterName: String = "sse", downAfter: Duration = .seconds(1)) async throws
        -> LocalSentinelGroup
    {
        let master = try await LocalRedisServer.start()
        let replica = try await LocalRedisServer.start(
            LocalRedisServer.Options(extraArguments: ["--replicaof", "127.0.0.1", String(master.port)]))
        let directory = try makeTemporaryDirectory()
        var ports: [Int] = []
        var children: [ChildProcess] = []
        for index in 0..<3 {
            let port = try freeLoopbackPort()
            let path = "\(directory)/sentinel-\(index).conf"
            let text = """
                port \(port)
                bind 127.0.0.1
                daemonize no
                dir \(directory)
                logfile \(directory)/sentinel-\(index).log
                sentinel monitor \(masterName) 127.0.0.1 \(master.port) 2
                sentinel down-after-milliseconds \(masterName) \(downAfter.components.seconds * 1000)
                sentinel failover-timeout \(masterName) 5000

                """
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            children.append(try ChildProcess(LocalRedisServer.executable(), [path, "--sentinel"]))
            ports.append(port)
        }
        let group = LocalSentinelGroup(
            masterName: masterName, servers: [master, replica], sentinelPorts: ports, directory: directory,
            sentinels: children)
        try await waitUntil("the sentinels to know the master, the replica and each other", timeout: .seconds(20)) {
            for index in 0..<3 {
                guard let master = try? await group.masterPort(askingSentinel: index), master == group.servers[0].port,
                    let replicas = try? await group.sentinel(index, "SENTINEL", "replicas", masterName).array,
                    replicas.count == 1,
                    let others = try? await group.sentinel(index, "SENTINEL", "sentinels", masterName).array,
                    others.count == 2
                else { return false }
            }
            return true
        }
        return group
    }

    /// Sends one command to sentinel `index` on a connection of its own.
    @discardableResult
    public func sentinel(_ index: Int, _ arguments: String...) async throws -> RedisReply {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: sentinelPorts[index]))
        configuration.connectTimeout = .milliseconds(500)
        let connection = try await RedisConnection.connect(configuration: configuration)
        defer { connection.closeNow() }
        return try await connection.send(RedisCommand(arguments[0], arguments: Array(arguments.dropFirst())))
    }

    /// The master's port as sentinel `index` names it.
    public func masterPort(askingSentinel index: Int) async throws -> Int? {
        let reply = try await sentinel(index, "SENTINEL", "get-master-addr-by-name", masterName)
        return reply.array.flatMap { $0.count == 2 ? $0[1].string.flatMap { Int($0) } : nil }
    }

    /// The data server on `port`.
    public func server(port: Int) -> LocalRedisServer? { servers.first { $0.port == port } }

    /// `SENTINEL FAILOVER`: the sentinels promote the replica and turn the old master into its replica (it stays up).
    public func failover() async throws {
        try await sentinel(0, "SENTINEL", "FAILOVER", masterName)
    }

    /// The server that is master now, by what sentinel 0 says.
    public func currentMaster() async throws -> LocalRedisServer {
        guard let port = try await masterPort(askingSentinel: 0), let server = server(port: port) else {
            throw LocalRedisError.system("sentinel 0 names no master of this group")
        }
        return server
    }

    /// Waits until every sentinel names a master other than `oldPort` and that server says `ROLE` master.
    /// - Returns: the new master.
    public func waitForNewMaster(replacing oldPort: Int, timeout: Duration = .seconds(30)) async throws
        -> LocalRedisServer
    {
        var found: LocalRedisServer?
        let what = "the sentinels to agree on a master other than port \(oldPort)"
        try await waitUntil(what, timeout: timeout, every: .milliseconds(50)) {
            var ports = Set<Int>()
            for index in 0..<3 {
                guard let port = try? await masterPort(askingSentinel: index) else { return false }
                ports.insert(port)
            }
            guard ports.count == 1, let port = ports.first, port != oldPort, let server = server(port: port) else {
                return false
            }
            guard let role = try? await Self.role(of: server), role == "master" else { return false }
            found = server
            return true
        }
        return found!
    }

    /// The first word of `ROLE` on a data server (`master` or `slave`).
    public static func role(of server: LocalRedisServer) async throws -> String {
        let connection = try await RedisConnection.connect(configuration: server.configuration)
        defer { connection.closeNow() }
        return try await connection.send("ROLE").array?.first?.string ?? ""
    }

    /// Kills every process of the group (sentinels first, so they start no failover meanwhile).
    public func stop() {
        let running = sentinels.withLock { children in
            defer { children = children.map { _ in nil } }
            return children
        }
        for child in running.compactMap({ $0 }) {
            child.kill()
        }
        for server in servers { server.kill() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
