import ArgumentParser
import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSEProtocol

/// What presence costs a node and Redis at N streams (README "Nodes and presence"): for four shapes of streams, the
/// node document's size, the node's time to open and close the streams in its presence table, to build and encode
/// the document (once a second, the beat), and Redis's time per `SET` of it (`INFO commandstats` on a real
/// redis-server it starts on a free loopback port). A benchmark program, not a test: figures vary with the machine;
/// run it in release (`swift run -c release presence-bench`).
@main
struct PresenceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presence-bench", abstract: "Measure the node registry's presence cost at N streams.")

    @Option(help: "Streams in the node's presence table (1–1000000).")
    var streams = 10_000

    @Option(help: "Beats built and encoded per shape (the median is reported).")
    var beats = 21

    func validate() throws {
        guard (1...1_000_000).contains(streams) else { throw ValidationError("--streams must be 1–1000000") }
        guard (1...1000).contains(beats) else { throw ValidationError("--beats must be 1–1000") }
    }

    struct Shape: Sendable {
        var name: String
        var stream: @Sendable (Int) -> (topic: String, subject: String?)
    }

    static let shapes: [Shape] = [
        Shape(name: "one topic, every stream its own subject") { ("room", "user-\(10_000 + $0)") },
        Shape(name: "100 topics of 100 subjects") { ("room-\($0 % 100)", "user-\(10_000 + $0)") },
        Shape(name: "every stream its own topic and subject") { ("room-\(10_000 + $0)", "user-\(10_000 + $0)") },
        Shape(name: "every stream its own public topic") { ("room-\(10_000 + $0)", nil) },
    ]

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    func run() async throws {
        let redis = try await LocalRedisServer.start()
        defer { redis.stop() }
        let client = RedisClient(configuration: redis.configuration)
        print("presence cost at \(streams) streams (median of \(beats) beats)")
        print("shape\tdocument bytes\ttopics listed\topen+close µs/stream\tbuild+encode ms\tRedis SET µs")
        for shape in Self.shapes {
            let presence = NodePresence()
            let entries = (0..<streams).map { index -> [(Topic, String?)] in
                let (topic, subject) = shape.stream(index)
                return [(try! Topic(validating: topic), subject)]
            }
            let clock = ContinuousClock()
            let opening = clock.measure { for entry in entries { presence.opened(entry) } }
            var builds: [Duration] = []
            var bytes: [UInt8] = []
            var listed = 0
            for beat in 1...beats {
                builds.append(
                    clock.measure {
                        let snapshot = presence.snapshot()
                        listed = snapshot.topics?.count ?? 0
                        bytes = NodeDocument(
                            nodeID: "bench", startedMilliseconds: 0, atMilliseconds: Int64(beat) * 1000, beat: beat,
                            ttlMilliseconds: 3000, state: .ready, streams: streams, eventsPerSecond: 0,
                            connectionsTotal: streams, slowConsumerCuts: 0, shedDeliveries: 0, shedConnections: 0,
                            resyncs: 0, redisLinksUp: 1, redisLinksTotal: 1, presence: snapshot
                        ).encoded()
                    })
            }
            builds.sort()
            let closing = clock.measure { for entry in entries { presence.closed(entry) } }
            _ = try await client.send("CONFIG", "RESETSTAT")
            for _ in 0..<beats {
                _ = try await client.send(
                    RedisCommand("SET", arguments: [NodeRegistryKeys.node("bench"), bytes, "PX", "3000"]))
            }
            let info = try await client.send("INFO", "commandstats").string ?? ""
            let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("cmdstat_set:") } ?? ""
            let perSet =
                line.split(separator: ",").first { $0.hasPrefix("usec_per_call=") }
                .map { String($0.dropFirst("usec_per_call=".count)) } ?? "?"
            let perStream = (Self.milliseconds(opening) + Self.milliseconds(closing)) * 1000 / Double(streams)
            print(
                "\(shape.name)\t\(bytes.count)\t\(listed)\t" + String(format: "%.2f", perStream) + "\t"
                    + String(format: "%.2f", Self.milliseconds(builds[builds.count / 2])) + "\t\(perSet)")
        }
        await client.close()
    }
}
