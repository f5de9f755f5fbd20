import Foundation
import RedisClient
import SSEProtocol

/// What `ssectl top` read from the node registry at one moment: the live nodes' documents and the nodes that
/// dropped out within the last minute.
struct RegistrySnapshot: Sendable, Equatable {
    /// A node whose key expired (it stopped beating without leaving: killed, frozen, cut off from Redis) while its
    /// member entry is still recent.
    struct DownNode: Sendable, Equatable {
        var nodeID: String
        /// When its key expired (the member's score: its last beat plus the key's lifetime), Unix ms.
        var expiredMilliseconds: Int64
        /// Its last beat's summary from its beats list, nil when the list is gone too.
        var lastBeat: NodeDocument?

        /// When it last beat: the last summary's time, or else the expiry less the key's default lifetime.
        var lastBeatMilliseconds: Int64 {
            lastBeat?.atMilliseconds ?? (expiredMilliseconds - RegistrySnapshot.defaultLifetimeMilliseconds)
        }
    }

    /// Live nodes (their key exists), by node id.
    var live: [NodeDocument]
    /// Nodes whose key expired within ``RegistrySnapshot/downWindowMilliseconds``, by node id.
    var down: [DownNode]
    /// When the snapshot was taken, Unix ms on this machine's clock (beat ages are measured from it).
    var takenMilliseconds: Int64

    /// How long a node that stopped beating is still shown as `down`: the minute the nodes keep its member entry.
    static let downWindowMilliseconds: Int64 = 60_000
    /// The key lifetime nodes write (`PX 3000`), for a down node whose last summary is gone.
    static let defaultLifetimeMilliseconds: Int64 = 3000
}

/// Reads the node registry (``NodeRegistryKeys``) for `ssectl top`, every call bounded by ``readTimeout``.
///
/// Three round trips at most, all to the registry's one slot (on a Redis Cluster every command is routed by
/// ``NodeRegistryKeys/members``, so they reach the shard that holds it): the members with their expiry scores, the
/// node keys in one `MGET`, and — only when some keys are gone — the newest entry of those nodes' beats lists.
/// The publisher's dashboard has its own reader (it follows `sse.nodes` live); this one polls, which is what a
/// terminal refreshed every second wants and costs Redis a few reads per refresh.
struct RegistryReader: Sendable {
    /// Longest wait for one snapshot; past it the refresh shows the error and the next one tries again.
    static let readTimeout = Duration.seconds(2)

    let runner: any RedisCommandRunner
    /// Where the registry is read from, for errors (`host:port`, or the Cluster seeds).
    let address: String

    /// The live and recently down nodes, as of `now` (Unix ms).
    func snapshot(now: Int64 = RegistryReader.now()) async throws -> RegistrySnapshot {
        try await withDeadline(Self.readTimeout, doing: "the node registry read", address: address) {
            [runner] in
            // On one server (or a Sentinel group's master) a read that times out also closes its connection, so
            // the next refresh connects afresh instead of queueing behind a server that does not answer.
            guard let client = runner as? RedisClient else { return try await Self.read(runner, now: now) }
            return try await client.connection().withDeadline(Self.readTimeout, doing: "the node registry read") {
                try await Self.read($0, now: now)
            }
        }
    }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    private static func read(_ runner: any RedisCommandRunner, now: Int64) async throws -> RegistrySnapshot {
        let since = String(now - RegistrySnapshot.downWindowMilliseconds)
        let members = try await runner.send(
            RedisCommand("ZRANGEBYSCORE", arguments: [NodeRegistryKeys.members, since, "+inf", "WITHSCORES"])
        ).throwingServerError()
        let flat = members.array ?? []
        var expiries: [(id: String, expiry: Int64)] = []
        var index = 0
        while index + 1 < flat.count {
            if let id = flat[index].string, let score = flat[index + 1].string.flatMap(Double.init) {
                expiries.append((id, Int64(score)))
            }
            index += 2
        }
        guard !expiries.isEmpty else { return RegistrySnapshot(live: [], down: [], takenMilliseconds: now) }
        let values = try await runner.send(
            RedisCommand("MGET", arguments: expiries.map { NodeRegistryKeys.node($0.id) })
        ).throwingServerError()
        let documents = values.array ?? []
        var live: [NodeDocument] = []
        var missing: [(id: String, expiry: Int64)] = []
        for (offset, member) in expiries.enumerated() {
            let value = offset < documents.count ? documents[offset] : .null
            if let document = value.bytes.flatMap(NodeDocument.decode) {
                live.append(document)
            } else if value.isNull {
                missing.append(member)
            }
            // A value this code cannot read (another format version) is neither live nor down: it is skipped.
        }
        var down: [RegistrySnapshot.DownNode] = []
        if !missing.isEmpty {
            let lasts = try await runner.pipeline(
                missing.map { RedisCommand("LINDEX", arguments: [NodeRegistryKeys.beats($0.id), "0"]) })
            for (offset, member) in missing.enumerated() {
                let last = offset < lasts.count ? lasts[offset].bytes.flatMap(NodeDocument.decode) : nil
                down.append(.init(nodeID: member.id, expiredMilliseconds: member.expiry, lastBeat: last))
            }
        }
        return RegistrySnapshot(
            live: live.sorted { $0.nodeID < $1.nodeID }, down: down.sorted { $0.nodeID < $1.nodeID },
            takenMilliseconds: now)
    }
}
