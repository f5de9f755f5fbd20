import Foundation
import Logging
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization

/// The node registry in Redis: every node's beat once a second, and the list of the live nodes.
///
/// Every name shares the hash tag of the cluster topic `sse.nodes`, so on a Redis Cluster they all live in one slot
/// and a beat is one pipelined round trip to one shard:
///
/// - `sse:{sse.nodes}:node:<id>`: the node's ``NodeDocument`` (JSON), written with `SET … PX 3000` each beat, so a
///   node that dies drops out within three seconds of its last beat, on Redis's clock.
/// - `sse:{sse.nodes}:members`: a sorted set of node ids scored by when their key expires (Unix ms, the writer's
///   clock). It only says where to look (`SCAN` cannot list keys across a Cluster's shards cheaply): a member whose
///   key is gone is not live. Each beat removes members that expired more than a minute ago (a margin for clocks
///   that disagree).
/// - the channel `sse:{sse.nodes}` (the topic `sse.nodes`): each beat publishes the document's summary as a
///   fire-and-forget JSON event named `node` (`SPUBLISH` on a Cluster, where topic channels are sharded).
///
/// A clean exit deletes the key and the member and publishes a last event with state `stopped`.
final class NodeRegistry: Sendable {
    /// The cluster topic the beats go out on.
    static let topic = NodeRegistryKeys.topic
    static let membersKey = NodeRegistryKeys.members
    static func nodeKey(_ id: String) -> String { NodeRegistryKeys.node(id) }
    /// Time between beats.
    static let interval = Duration.seconds(1)
    /// How long a node's key lives after its last beat.
    static let lifetime = Duration.seconds(3)
    /// How long a reader waits for Redis before answering 503.
    static let readTimeout = Duration.seconds(2)

    let nodeID: String
    let history: History
    private let logger: Logger
    /// Beats made so far (written or not).
    private let beats = Atomic<Int>(0)
    /// The last beat failed: the failure was logged, and the next success will be.
    private let failing = Atomic<Bool>(false)
    /// The node left the registry (``leave(_:)``): a beat still on its way is not written after the key was deleted.
    private let left = Atomic<Bool>(false)

    init(nodeID: String, history: History, logger: Logger) {
        self.nodeID = nodeID
        self.history = history
        self.logger = logger
    }

    /// Where every registry command goes: the one Redis, or on a Cluster the shard of the registry's slot.
    private var runner: any RedisCommandRunner {
        history.cluster.map { $0.routed(key: Self.membersKey) } ?? history.runner
    }

    private var publishCommand: String { history.isCluster ? "SPUBLISH" : "PUBLISH" }

    /// What a timed-out registry call names: the Cluster's seeds, or the server (or Sentinel group).
    private var address: String { history.address }

    /// Beats once a second until cancelled; `document(beat)` makes each beat's document.
    func run(document: @Sendable (Int) -> NodeDocument) async {
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelled {
            await write(document(nextBeat()))
            next += Self.interval
            if next < clock.now { next = clock.now + Self.interval }
            try? await Task.sleep(until: next, clock: clock)
        }
    }

    /// The next beat's number.
    func nextBeat() -> Int { beats.add(1, ordering: .relaxed).newValue }

    /// The beat: key, member, publish, and the old members' cleanup, in one round trip. A failure is logged once
    /// until a beat succeeds again (a node whose Redis is down skips beats quietly).
    func write(_ document: NodeDocument) async {
        let ttl = Int(Self.lifetime.components.seconds * 1000)
        let expiry = document.atMilliseconds + Int64(ttl)
        let commands = [
            RedisCommand("SET", arguments: [Self.nodeKey(nodeID), document.encoded(), "PX", String(ttl)]),
            RedisCommand("ZADD", arguments: [Self.membersKey, String(expiry), nodeID]),
            RedisCommand("ZREMRANGEBYSCORE", arguments: [Self.membersKey, "-inf", "(" + String(expiry - 60_000)]),
            RedisCommand(publishCommand, arguments: [Self.topic.channel, Self.eventPayload(document.summary)]),
            // The last five minutes of summaries, for the dashboard's charts (kept ten minutes after the last beat).
            RedisCommand("LPUSH", arguments: [NodeRegistryKeys.beats(nodeID), document.summary.encoded()]),
            RedisCommand(
                "LTRIM", arguments: [NodeRegistryKeys.beats(nodeID), "0", String(NodeRegistryKeys.beatsKept - 1)]),
            RedisCommand("PEXPIRE", arguments: [NodeRegistryKeys.beats(nodeID), "600000"]),
        ]
        guard !left.load(ordering: .relaxed) else { return }
        do {
            let replies = try await withDeadline(Self.readTimeout, doing: "the node registry", address: address) {
                [runner] in try await runner.pipeline(commands)
            }
            for reply in replies { try reply.throwingServerError() }
            if failing.exchange(false, ordering: .relaxed) {
                logger.info("node registry beats written again", metadata: ["sse.beat": "\(document.beat)"])
            }
        } catch {
            if !failing.exchange(true, ordering: .relaxed) {
                logger.warning(
                    "cannot write the node registry beat; skipping beats until Redis answers",
                    metadata: ["error": "\(error)", "sse.beat": "\(document.beat)"])
            }
        }
    }

    /// A clean exit: the key and the member go at once, and a last `stopped` event tells the followers.
    func leave(_ document: NodeDocument) async {
        left.store(true, ordering: .relaxed)
        var last = document.summary
        last.state = .stopped
        last.reason = nil
        let commands = [
            RedisCommand("DEL", arguments: [Self.nodeKey(nodeID)]),
            RedisCommand("ZREM", arguments: [Self.membersKey, nodeID]),
            RedisCommand(publishCommand, arguments: [Self.topic.channel, Self.eventPayload(last)]),
        ]
        do {
            _ = try await withDeadline(Self.readTimeout, doing: "the node registry", address: address) { [runner] in
                try await runner.pipeline(commands)
            }
        } catch {
            logger.warning("cannot remove the node from the registry", metadata: ["error": "\(error)"])
        }
    }

    /// The live nodes' documents (members whose key exists), by node id; two round trips (`ZRANGE`, `MGET`).
    func liveNodes() async throws -> [NodeDocument] {
        try await withDeadline(Self.readTimeout, doing: "the node registry", address: address) { [runner] in
            let members = try await runner.send(RedisCommand("ZRANGE", arguments: [Self.membersKey, "0", "-1"]))
                .throwingServerError()
            let ids = (members.array ?? []).compactMap(\.string)
            guard !ids.isEmpty else { return [] }
            let values = try await runner.send(RedisCommand("MGET", arguments: ids.map(Self.nodeKey)))
                .throwingServerError()
            return (values.array ?? []).compactMap { $0.bytes.flatMap(NodeDocument.decode) }
                .sorted { $0.nodeID < $1.nodeID }
        }
    }

    /// The fire-and-forget JSON shape (``RedisEnvelope``): `{"data":"<document>","event":"node"}`.
    static func eventPayload(_ document: NodeDocument) -> [UInt8] {
        jsonEvent(name: "node", data: String(decoding: document.encoded(), as: UTF8.self))
    }

    static func jsonEvent(name: String, data: String) -> [UInt8] {
        Array(jsonText(["event": name, "data": data]).utf8)
    }

    /// A JSON object of strings, keys sorted.
    static func jsonText(_ members: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(members)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
