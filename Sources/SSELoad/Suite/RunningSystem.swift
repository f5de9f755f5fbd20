import Foundation
import LocalRedis

#if canImport(Glibc)
    import Glibc
#endif

/// One system started afresh for one scenario: its own redis-server, its server processes, and for two gateway
/// nodes the project's nginx in front. Every process is a ``ChildProcess`` this run started; ``stop()`` stops
/// exactly those, by pid.
final class RunningSystem {
    let system: BenchSystem
    let redis: LocalRedisServer
    /// Gateway nodes, floor processes, or the nginx+nchan master.
    private(set) var servers: [ChildProcess] = []
    /// The nginx in front of two gateway nodes.
    private(set) var proxy: ChildProcess?
    /// Where streams connect: one port per entry (a node, the proxy, nchan, a floor process).
    private(set) var entryPorts: [Int] = []
    /// The gateway nodes' own ports (behind the proxy for two nodes).
    private(set) var nodePorts: [Int] = []

    init(system: BenchSystem, redis: LocalRedisServer) {
        self.system = system
        self.redis = redis
    }

    func addServer(_ child: ChildProcess) { servers.append(child) }
    func setProxy(_ child: ChildProcess) { proxy = child }
    func addEntry(port: Int) { entryPorts.append(port) }
    func addNode(port: Int) { nodePorts.append(port) }

    /// The server processes measured: gateway nodes or floor processes, or every nginx+nchan process (master and
    /// workers).
    var serverPIDs: [pid_t] {
        let pids = servers.compactMap(\.processID)
        return system.isNchan ? pids.flatMap { [$0] + ProcessStats.children(of: $0) } : pids
    }

    /// The proxying nginx's master and workers (two gateway nodes only).
    var proxyPIDs: [pid_t] {
        guard let pid = proxy?.processID else { return [] }
        return [pid] + ProcessStats.children(of: pid)
    }

    var redisPIDs: [pid_t] { redis.processID > 0 ? [redis.processID] : [] }

    /// The stream URL of `topic` at entry `index` (nchan's subscriber location, else `/sse?topic=`).
    func streamURL(topic: String, entry index: Int = 0) -> String {
        let port = entryPorts[index % entryPorts.count]
        return system.isNchan ? "http://127.0.0.1:\(port)/sub/\(topic)" : "http://127.0.0.1:\(port)/sse?topic=\(topic)"
    }

    /// How `sse-load publish` reaches the system: the reliable publish through Redis (ours and the floor, which
    /// receives the same `sse_publish` envelopes on `sse:{topic}`), or nchan's HTTP publisher location.
    func publishArguments(topic: String) -> [String] {
        system.isNchan
            ? ["--url", "http://127.0.0.1:\(entryPorts[0])/pub/\(topic)"]
            : ["--redis-url", redis.url, "--topic", topic]
    }

    /// Stops every process of the system, newest first: SIGTERM, then SIGKILL after 10 s.
    func stop() async {
        var children = servers
        if let proxy { children.append(proxy) }
        for child in children.reversed() { await child.stop(grace: .seconds(10)) }
        servers = []
        proxy = nil
        redis.stop()
    }
}
