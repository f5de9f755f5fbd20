import Foundation
import LocalRedis
import RedisClient

extension RunningSystem {
    /// Starts `system` on free loopback ports with its own redis-server; `tag` names its logs. On failure
    /// everything already started is stopped again.
    static func start(_ system: BenchSystem, tag: String, heartbeat: Int, in workspace: SuiteWorkspace) async throws
        -> RunningSystem
    {
        let redis = try await LocalRedisServer.start()
        workspace.record([
            "redis-server", "--port", String(redis.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        ])
        let running = RunningSystem(system: system, redis: redis)
        do {
            switch system {
            case .ours1, .ours2, .ours5:
                for node in 1...system.nodes {
                    try await running.startGateway(name: "node-\(node)", tag: tag, heartbeat: heartbeat, in: workspace)
                }
                if system == .ours2 { try await running.startProxy(tag: tag, in: workspace) }
            case .nchan1, .nchan2:
                try await running.startNchan(
                    workers: system == .nchan1 ? 1 : 2, tag: tag, heartbeat: heartbeat, in: workspace)
            case .floor, .floor5:
                for index in 1...system.nodes {
                    try await running.startFloor(name: "floor-\(index)", tag: tag, in: workspace)
                }
            }
        } catch {
            await running.stop()
            throw error
        }
        return running
    }

    private func startGateway(name: String, tag: String, heartbeat: Int, in workspace: SuiteWorkspace) async throws {
        let port = try freeLoopbackPort()
        let child = try workspace.start(
            workspace.gateway,
            [
                "--host", "127.0.0.1", "--port", String(port), "--redis-url", redis.url, "--node-id", name,
                "--heartbeat", String(heartbeat), "--max-connections", String(SuiteSizes.fileLimit),
                // Every load connection comes from 127.0.0.1: the limits per client would cut the benchmark.
                "--max-streams-per-client", "0", "--new-streams-per-second", "0", "--log-level", "warning",
            ], log: "\(tag)-\(name)")
        addServer(child)
        try await waitUntil("\(name) /readyz", timeout: .seconds(30), every: .milliseconds(100)) {
            guard child.reapIfExited() == nil else {
                throw SuiteError("\(name) exited at start: \(workspace.tail(ofLog: "\(tag)-\(name)"))")
            }
            guard ProcessStats.listens(child.processID ?? 0, on: port) else { return false }
            return await workspace.answers("http://127.0.0.1:\(port)/readyz")
        }
        addNode(port: port)
        if system != .ours2 { addEntry(port: port) }
    }

    /// The project's nginx in front of two nodes, configured as it deploys: `nginx/*.conf` plus the cluster files
    /// `deploy/nginx-cluster-conf` writes for these addresses.
    private func startProxy(tag: String, in workspace: SuiteWorkspace) async throws {
        let port = try freeLoopbackPort()
        // nginx.conf also routes / to the demo publisher, which the benchmark does not run: any free address.
        let unusedPublisher = "127.0.0.1:\(try freeLoopbackPort())"
        let prefix = workspace.work + "/\(tag)-proxy"
        try FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: prefix + "/conf", withIntermediateDirectories: true)
        let sources = try FileManager.default.contentsOfDirectory(atPath: workspace.repository + "/nginx")
            .filter { $0.hasSuffix(".conf") }.sorted()
        workspace.record(["cp"] + sources.map { "nginx/" + $0 } + [prefix + "/conf/"])
        for file in sources {
            try? FileManager.default.removeItem(atPath: prefix + "/conf/" + file)
            try FileManager.default.copyItem(
                atPath: workspace.repository + "/nginx/" + file, toPath: prefix + "/conf/" + file)
        }
        let script = workspace.repository + "/deploy/nginx-cluster-conf"
        let written = try await workspace.run(
            script,
            [prefix + "/conf/cluster", "127.0.0.1:\(port)", unusedPublisher] + nodePorts.map { "127.0.0.1:\($0)" },
            log: "\(tag)-proxy-conf")
        guard written == 0 else {
            throw SuiteError("deploy/nginx-cluster-conf failed: \(workspace.tail(ofLog: "\(tag)-proxy-conf"))")
        }
        let nginx = try ChildProcess.locate("nginx", environmentOverride: "NGINX")
        let common = ["-p", prefix + "/", "-c", prefix + "/conf/nginx.conf", "-e", prefix + "/logs/error.log"]
        guard try await workspace.run(nginx, ["-t", "-q"] + common, log: "\(tag)-proxy-test") == 0 else {
            throw SuiteError("nginx rejected the proxy configuration: \(workspace.tail(ofLog: "\(tag)-proxy-test"))")
        }
        let child = try workspace.start(nginx, common + ["-g", "daemon off;"], log: "\(tag)-proxy")
        setProxy(child)
        try await waitUntil("the proxy's /lb-healthz", timeout: .seconds(20), every: .milliseconds(100)) {
            guard child.reapIfExited() == nil else { throw SuiteError("the proxying nginx exited at start") }
            return await workspace.answers("http://127.0.0.1:\(port)/lb-healthz")
        }
        addEntry(port: port)
    }

    /// nginx + nchan from `bench/nchan.conf.template`.
    private func startNchan(workers: Int, tag: String, heartbeat: Int, in workspace: SuiteWorkspace) async throws {
        let port = try freeLoopbackPort()
        let prefix = workspace.work + "/\(tag)-nchan"
        try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true)
        let template = try String(contentsOfFile: workspace.repository + "/bench/nchan.conf.template", encoding: .utf8)
        let configuration = template.replacingOccurrences(of: "@WORKERS@", with: String(workers))
            .replacingOccurrences(of: "@PORT@", with: String(port))
            .replacingOccurrences(of: "@REDIS_PORT@", with: String(redis.port))
            .replacingOccurrences(of: "@HEARTBEAT@", with: String(heartbeat))
        try configuration.write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
        workspace.record(
            [
                "sed", "-e", "s|@WORKERS@|\(workers)|g", "-e", "s|@PORT@|\(port)|g", "-e",
                "s|@REDIS_PORT@|\(redis.port)|g", "-e", "s|@HEARTBEAT@|\(heartbeat)|g", "bench/nchan.conf.template",
            ], output: prefix + "/nginx.conf")
        let nginx = try ChildProcess.locate("nginx", environmentOverride: "NGINX")
        let common = ["-p", prefix + "/", "-c", prefix + "/nginx.conf", "-e", prefix + "/error.log"]
        guard try await workspace.run(nginx, ["-t", "-q"] + common, log: "\(tag)-nchan-test") == 0 else {
            throw SuiteError("nginx rejected \(prefix)/nginx.conf: \(workspace.tail(ofLog: "\(tag)-nchan-test"))")
        }
        let child = try workspace.start(nginx, common + ["-g", "daemon off;"], log: "\(tag)-nchan")
        addServer(child)
        try await waitUntil("nginx+nchan with \(workers) workers", timeout: .seconds(20), every: .milliseconds(100)) {
            guard child.reapIfExited() == nil, let pid = child.processID else {
                throw SuiteError("nginx+nchan exited at start: \(workspace.tail(ofLog: "\(tag)-nchan"))")
            }
            return ProcessStats.listens(pid, on: port) && ProcessStats.children(of: pid).count >= workers
        }
        // nchan's workers connect to Redis once they run: ready when Redis counts a connection per worker.
        try await Self.waitForRedisClients(workers, on: redis, what: "nchan's \(workers) workers connected to Redis")
        addEntry(port: port)
    }

    /// The floor server (`../shared/bench-floor`) in 2 threads, with the gateway's channel names `sse:{NAME}`.
    private func startFloor(name: String, tag: String, in workspace: SuiteWorkspace) async throws {
        let port = try freeLoopbackPort()
        let child = try workspace.start(
            workspace.floor,
            [
                "--port", String(port), "--host", "127.0.0.1", "--redis", "127.0.0.1:\(redis.port)", "--threads", "2",
                "--channel-prefix", "sse:{", "--channel-suffix", "}",
            ], log: "\(tag)-\(name)")
        addServer(child)
        try await waitUntil("\(name) listening", timeout: .seconds(20), every: .milliseconds(50)) {
            guard child.reapIfExited() == nil, let pid = child.processID else {
                throw SuiteError("\(name) exited at start: \(workspace.tail(ofLog: "\(tag)-\(name)"))")
            }
            return ProcessStats.listens(pid, on: port)
        }
        addEntry(port: port)
    }

    /// Waits until `redis` has at least `count` clients besides the one asking (`INFO clients`).
    private static func waitForRedisClients(_ count: Int, on redis: LocalRedisServer, what: String) async throws {
        let connection = try await RedisConnection.connect(configuration: redis.configuration)
        defer { connection.closeNow() }
        try await waitUntil(what, timeout: .seconds(20), every: .milliseconds(50)) {
            let info = try await connection.send("INFO", "clients").string ?? ""
            let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("connected_clients:") }
            let clients = line.flatMap { Int($0.dropFirst("connected_clients:".count)) } ?? 0
            return clients - 1 >= count
        }
    }
}
