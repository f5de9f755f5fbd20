import Foundation
import LocalRedis
import NIOCore
import RedisClient
import SSEProtocol
import Testing

@testable import Gateway

/// The node document at 10,000 streams in four shapes: the caps hold (topics and subjects listed), the size stays
/// bounded, the document round-trips, Redis takes it, and closing every stream empties the table. What it costs in
/// time is measured by the `presence-bench` program, not here (README "Nodes and presence").
@Suite("Presence at 10,000 streams: caps and size (real redis-server)", .serialized)
struct PresenceCostTests {
    struct Shape: CustomStringConvertible, Sendable {
        var description: String
        /// The topic and subject of stream `i`.
        var stream: @Sendable (Int) -> (topic: String, subject: String?)
        var listedTopics: Int
        var listedSubjects: Int
        var maximumBytes: Int
    }

    static let streams = 10_000

    static let shapes: [Shape] = [
        Shape(
            description: "one topic, every stream its own subject", stream: { ("room", "user-\(10_000 + $0)") },
            listedTopics: 1, listedSubjects: 100, maximumBytes: 3_000),
        Shape(
            description: "100 topics of 100 subjects", stream: { ("room-\($0 % 100)", "user-\(10_000 + $0)") },
            listedTopics: 100, listedSubjects: 10_000, maximumBytes: 200_000),
        Shape(
            description: "every stream its own topic and subject",
            stream: { ("room-\(10_000 + $0)", "user-\(10_000 + $0)") }, listedTopics: 1000, listedSubjects: 1000,
            maximumBytes: 100_000),
        Shape(
            description: "every stream its own public topic", stream: { ("room-\(10_000 + $0)", nil) },
            listedTopics: 1000, listedSubjects: 0, maximumBytes: 100_000),
    ]

    static func document(_ presence: NodeDocument.Presence, beat: Int) -> NodeDocument {
        NodeDocument(
            nodeID: "cost-node", version: NodeDocument.gatewayVersion,
            startedMilliseconds: 1_800_000_000_000, atMilliseconds: 1_800_000_000_000 + Int64(beat) * 1000, beat: beat,
            ttlMilliseconds: 3000, state: .ready, reason: nil, address: "127.0.0.1:8080", streams: streams,
            eventsPerSecond: 0, connectionsTotal: streams, slowConsumerCuts: 0, shedDeliveries: 0, shedConnections: 0,
            resyncs: 0, redisLinksUp: 1, redisLinksTotal: 1, presence: presence)
    }

    @Test(arguments: 0..<4)
    func aBeatOfTenThousandStreamsListsWithinItsCapsAndStaysSmall(shapeIndex: Int) async throws {
        let shape = Self.shapes[shapeIndex]
        let presence = NodePresence()
        let entries = (0..<Self.streams).map { index -> [(Topic, String?)] in
            let (topic, subject) = shape.stream(index)
            return [(try! Topic(validating: topic), subject)]
        }
        for entry in entries { presence.opened(entry) }
        let snapshot = presence.snapshot()
        let bytes = Self.document(snapshot, beat: 1).encoded()
        let listed = snapshot.topics ?? []
        #expect(listed.count == shape.listedTopics)
        #expect(listed.reduce(0) { $0 + $1.subjects.count } == shape.listedSubjects)
        #expect(listed.reduce(0) { $0 + $1.streams } == (shape.listedTopics == 1000 ? 1000 : Self.streams))
        #expect(bytes.count <= shape.maximumBytes, "\(bytes.count) bytes")
        #expect(NodeDocument.decode(bytes)?.presence == snapshot)

        // Redis takes the beat's document whole. (Not with the beat's 3 s expiry: a fresh-clone CI run on two busy
        // cores took longer than that between the SET and the GET.)
        let stored = try await withLocalRedis { redis in
            let client = RedisClient(configuration: redis.configuration)
            defer { Task { await client.close() } }
            _ = try await client.send(
                RedisCommand("SET", arguments: [NodeRegistryKeys.node("cost-node"), bytes, "PX", "60000"]))
            return try await client.send("GET", NodeRegistryKeys.node("cost-node")).bytes.map(Array.init)
        }
        #expect(stored == bytes)
        for entry in entries { presence.closed(entry) }
        #expect(presence.snapshot().topicsTotal == 0)
    }
}
