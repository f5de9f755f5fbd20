import Foundation
import RedisClient
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension LocalRedisCluster {
    /// The nodes that run, as `CLUSTER SHARDS` of one of them describes the slots (the first live node that answers).
    public func slotMap() async throws -> ClusterSlotMap {
        var lastError: (any Error)?
        for node in nodes where node.processID != 0 {
            do {
                return try ClusterSlotMap(clusterShards: try await command(node.port, ["CLUSTER", "SHARDS"]))
            } catch {
                lastError = error
            }
        }
        throw lastError ?? LocalRedisError.system("no cluster node runs")
    }

    /// The port of the primary serving `slot`, as the map says.
    public func primaryPort(of slot: HashSlot) async throws -> Int {
        guard case .tcp(_, let port)? = try await slotMap().primary(for: slot) else {
            throw LocalRedisError.system("no primary serves slot \(slot)")
        }
        return port
    }

    /// A node's 40-character id (`CLUSTER MYID`).
    public func nodeID(port: Int) async throws -> String {
        guard let id = try await command(port, ["CLUSTER", "MYID"]).string else {
            throw LocalRedisError.system("CLUSTER MYID on \(port) gave no id")
        }
        return id
    }

    /// The ports of the running primaries.
    public func primaryPorts() async throws -> [Int] {
        try await slotMap().primaries.compactMap { endpoint in
            if case .tcp(_, let port) = endpoint { return port }
            return nil
        }
    }

    /// Waits until every running node reports `cluster_state:ok` with all 16384 slots assigned and the same primary
    /// for every slot, and every replica has synced with its primary.
    public func waitUntilHealthy(timeout: Duration = .seconds(30)) async throws {
        try await waitUntil(
            "every cluster node to report cluster_state:ok and one slot map", timeout: timeout,
            every: .milliseconds(50)
        ) {
            var maps: [[RedisConfiguration.Endpoint?]] = []
            for node in nodes where node.processID != 0 {
                guard let info = try? await command(node.port, ["CLUSTER", "INFO"]).string,
                    info.contains("cluster_state:ok"), info.contains("cluster_slots_assigned:16384"),
                    let reply = try? await command(node.port, ["CLUSTER", "SHARDS"]),
                    let map = try? ClusterSlotMap(clusterShards: reply), map.coversEverySlot
                else { return false }
                // A replica counts once its initial sync is done (before that it could not take over).
                if let role = try? await command(node.port, ["ROLE"]).array, role.first?.string == "slave",
                    role.count > 3, role[3].string != "connected"
                {
                    return false
                }
                maps.append(stride(from: 0, to: HashSlot.count, by: 64).map { map.primary(for: HashSlot($0)) })
            }
            return !maps.isEmpty && maps.allSatisfy { $0 == maps[0] }
        }
    }

    // MARK: Processes

    /// SIGKILL the node, as a crash would, and reap it.
    public func kill(port: Int) {
        let running = node(port: port).child.withLock { child in
            defer { child = nil }
            return child
        }
        running?.kill()
    }

    /// SIGSTOP: the node keeps its sockets and answers nothing; past the node timeout its replica takes over.
    public func pause(port: Int) {
        node(port: port).child.withLock { $0 }?.signal(SIGSTOP)
    }

    /// SIGCONT after ``pause(port:)``.
    public func resume(port: Int) {
        node(port: port).child.withLock { $0 }?.signal(SIGCONT)
    }

    /// Kills the primary on `port` with SIGKILL and waits until one of its replicas serves its slots and the
    /// cluster is healthy again; returns the new primary's port.
    @discardableResult
    public func killPrimary(port: Int, timeout: Duration = .seconds(30)) async throws -> Int {
        let before = try await slotMap()
        guard let shard = before.shards.first(where: { $0.primary.endpoint == node(port: port).endpoint }),
            let slot = shard.slotRanges.first?.lowerBound
        else { throw LocalRedisError.system("\(port) is not a primary serving slots") }
        kill(port: port)
        // Until the others mark it failed the cluster still looks healthy with the dead primary in the map.
        let replicas = Set(shard.replicas.map(\.endpoint))
        try await waitUntil("a replica of \(port) to serve its slots", timeout: timeout, every: .milliseconds(50)) {
            guard let map = try? await slotMap(), let owner = map.primary(for: HashSlot(slot)) else { return false }
            return replicas.contains(owner)
        }
        try await waitUntilHealthy(timeout: timeout)
        return try await primaryPort(of: HashSlot(slot))
    }

    /// `CLUSTER FAILOVER` on the replica on `port` (a clean hand-over: the primary stops, the replica catches up
    /// and takes the slots), then waits for the cluster to agree.
    public func failover(replicaPort port: Int, timeout: Duration = .seconds(30)) async throws {
        let reply = try await command(port, ["CLUSTER", "FAILOVER"])
        guard reply == .status("OK") else { throw LocalRedisError.system("CLUSTER FAILOVER on \(port): \(reply)") }
        try await waitUntil("\(port) to become a primary", timeout: timeout, every: .milliseconds(50)) {
            (try? await command(port, ["ROLE"]).array?.first?.string) == "master"
        }
        try await waitUntilHealthy(timeout: timeout)
    }

    // MARK: Slot migration

    /// Opens a migration of `slot` from its owner to the primary on `targetPort` (`SETSLOT … IMPORTING` on the
    /// target, then `MIGRATING` on the source), moving no keys: commands for keys the source lacks get `ASK`.
    /// Returns the source's port.
    @discardableResult
    public func beginMigration(of slot: HashSlot, to targetPort: Int) async throws -> Int {
        let sourcePort = try await primaryPort(of: slot)
        precondition(sourcePort != targetPort, "slot \(slot) is already on \(targetPort)")
        try await expectOK(
            targetPort, ["CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", try await nodeID(port: sourcePort)])
        try await expectOK(
            sourcePort, ["CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", try await nodeID(port: targetPort)])
        return sourcePort
    }

    /// Moves the keys of `slot` still on `sourcePort` to `targetPort` (`MIGRATE`), then assigns the slot to the
    /// target on the target, the source and every other primary, and waits until all nodes agree.
    public func finishMigration(of slot: HashSlot, from sourcePort: Int, to targetPort: Int) async throws {
        while true {
            guard let keys = try await command(sourcePort, ["CLUSTER", "GETKEYSINSLOT", "\(slot)", "100"]).array,
                !keys.isEmpty
            else { break }
            let names = keys.compactMap(\.string)
            let reply = try await command(
                sourcePort, ["MIGRATE", "127.0.0.1", "\(targetPort)", "", "0", "5000", "KEYS"] + names)
            guard reply == .status("OK") else { throw LocalRedisError.system("MIGRATE of slot \(slot): \(reply)") }
        }
        let targetID = try await nodeID(port: targetPort)
        let others = try await primaryPorts().filter { $0 != sourcePort && $0 != targetPort }
        for port in [targetPort, sourcePort] + others {
            try await expectOK(port, ["CLUSTER", "SETSLOT", "\(slot)", "NODE", targetID])
        }
        try await waitUntil(
            "every node to place slot \(slot) on \(targetPort)", timeout: .seconds(15),
            every: .milliseconds(20)
        ) {
            for node in nodes where node.processID != 0 {
                guard let reply = try? await command(node.port, ["CLUSTER", "SHARDS"]),
                    let map = try? ClusterSlotMap(clusterShards: reply),
                    map.primary(for: slot) == self.node(port: targetPort).endpoint
                else { return false }
            }
            return true
        }
    }

    /// Migrates `slot` with its keys to the primary on `targetPort`; returns the former owner's port.
    @discardableResult
    public func migrate(_ slot: HashSlot, to targetPort: Int) async throws -> Int {
        let source = try await beginMigration(of: slot, to: targetPort)
        try await finishMigration(of: slot, from: source, to: targetPort)
        return source
    }

    private func expectOK(_ port: Int, _ words: [String]) async throws {
        let reply = try await command(port, words)
        guard reply == .status("OK") else {
            throw LocalRedisError.system("\(words.joined(separator: " ")) on \(port): \(reply)")
        }
    }
}
