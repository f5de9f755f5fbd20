import Foundation
import LocalRedis
import NIOCore
import RedisClient
import SSEProtocol
import Testing

@testable import Gateway

/// What presence costs at 10,000 streams (the README's "Nodes and presence" quotes these runs): the node's
/// document built from 10,000 synthetic streams in four shapes, its size, the node's CPU time to build and encode
/// it (once a second), and Redis's time for the beat's `SET` (from `INFO commandstats`, on a real redis-server).
/// The bounds asserted are loose (a loaded CI machine); the figures are printed.
@Suite("Presence cost at 10,000 streams (real redis-server)", .serialized)
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

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    /// `usec_per_call` of `command` in `INFO commandstats`.
    static func microsecondsPerCall(_ command: String, client: RedisClient) async throws -> Double {
        let info = try await client.send("INFO", "commandstats").string ?? ""
        let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("cmdstat_\(command):") } ?? ""
        let field = line.split(separator: ",").first { $0.hasPrefix("usec_per_call=") }
        return field.flatMap { Double($0.dropFirst("usec_per_call=".count)) } ?? -1
    }

    @Test(arguments: 0..<4)
    func aBeatOfTenThousandStreamsStaysSmallAndCheap(shapeIndex: Int) async throws {
        let shape = Self.shapes[shapeIndex]
        let presence = NodePresence()
        let clock = ContinuousClock()
        let entries = (0..<Self.streams).map { index -> [(Topic, String?)] in
            let (topic, subject) = shape.stream(index)
            return [(try! Topic(validating: topic), subject)]
        }
        let opening = clock.measure { for entry in entries { presence.opened(entry) } }

        var builds: [Duration] = []
        var bytes: [UInt8] = []
        var snapshot = NodeDocument.Presence(topicsTotal: 0, topics: nil)
        for beat in 1...20 {
            builds.append(
                clock.measure {
                    snapshot = presence.snapshot()
                    bytes = Self.document(snapshot, beat: beat).encoded()
                })
        }
        builds.sort()
        let listed = snapshot.topics ?? []
        #expect(listed.count == shape.listedTopics)
        #expect(listed.reduce(0) { $0 + $1.subjects.count } == shape.listedSubjects)
        #expect(listed.reduce(0) { $0 + $1.streams } == (shape.listedTopics == 1000 ? 1000 : Self.streams))
        #expect(bytes.count <= shape.maximumBytes, "\(bytes.count) bytes")
        #expect(NodeDocument.decode(bytes)?.presence == snapshot)
        #expect(builds[10] < .milliseconds(200), "\(builds[10])")

        let setMicroseconds = try await withLocalRedis { redis in
            let client = RedisClient(configuration: redis.configuration)
            defer { Task { await client.close() } }
            _ = try await client.send("CONFIG", "RESETSTAT")
            for _ in 0..<20 {
                _ = try await client.send(
                    RedisCommand("SET", arguments: ["sse:{sse.nodes}:node:cost-node", bytes, "PX", "3000"]))
            }
            return try await Self.microsecondsPerCall("set", client: client)
        }
        #expect(setMicroseconds > 0 && setMicroseconds < 5000)
        let closing = clock.measure { for entry in entries { presence.closed(entry) } }
        #expect(presence.snapshot().topicsTotal == 0)
        print(
            "presence cost, \(Self.streams) streams, \(shape): document \(bytes.count) bytes, "
                + "\(listed.count) topics listed (of \(snapshot.topicsTotal)), build+encode median "
                + String(format: "%.2f ms", Self.milliseconds(builds[10])) + ", Redis SET "
                + String(format: "%.1f µs", setMicroseconds) + ", open "
                + String(format: "%.0f ns", Self.milliseconds(opening) * 1e6 / Double(Self.streams))
                + " and close " + String(format: "%.0f ns", Self.milliseconds(closing) * 1e6 / Double(Self.streams))
                + " per stream")
    }
}
