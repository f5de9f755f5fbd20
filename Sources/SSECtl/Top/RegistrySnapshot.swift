import Foundation
import RedisClient
import SSEHistory
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
    /// Nodes whose key expired within ``SSEHistory/RegisteredNodes/downWindowMilliseconds``, by node id.
    var down: [DownNode]
    /// When the snapshot was taken, Unix ms on this machine's clock (beat ages are measured from it).
    var takenMilliseconds: Int64

    /// The key lifetime nodes write (`PX 3000`), for a down node whose last summary is gone.
    static let defaultLifetimeMilliseconds: Int64 = 3000
}

/// Reads the node registry (``NodeRegistryKeys``) for `ssectl top`, every call bounded by ``readTimeout``.
///
/// ``SSEHistory/RegisteredNodes`` with the last beat of each node that is down: three round trips at most, all to
/// the registry's one slot. It polls, which is what a terminal refreshed every second wants and costs Redis a few
/// reads per refresh.
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
        let registry = try await RegisteredNodes.read(runner, now: now, beats: .lastOfDown)
        return RegistrySnapshot(
            live: registry.nodes.compactMap(\.document),
            down: registry.nodes.filter(\.isDown).map {
                .init(nodeID: $0.id, expiredMilliseconds: $0.expiresMilliseconds, lastBeat: $0.beats.last)
            },
            takenMilliseconds: now)
    }
}
