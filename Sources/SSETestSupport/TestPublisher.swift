import LocalRedis
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization

/// Test-side publishing and waiting helpers over a real Redis.
public struct TestPublisher: Sendable {
    public let connection: RedisConnection

    public static func connect(_ server: LocalRedisServer) async throws -> TestPublisher {
        let connection = try await RedisConnection.connect(configuration: server.configuration)
        try await History(runner: connection).install()
        return TestPublisher(connection: connection)
    }

    /// Publishes reliably; returns the id.
    @discardableResult
    public func publish(_ topic: String, _ data: String, event: String? = nil) async throws -> String {
        let id = try await History(runner: connection).publish(
            try Topic(validating: topic), event: event, data: data, maxLength: 10_000)
        return "\(id)"
    }

    /// Publishes many events in one pipeline; returns their ids in order.
    public func publishBatch(_ items: [(topic: String, data: String)], maxLength: Int = 100_000) async throws
        -> [String]
    {
        let commands = try items.map { item in
            History.publishCommand(try Topic(validating: item.topic), event: nil, data: item.data, maxLength: maxLength)
        }
        return try await connection.pipeline(commands).map { "\(try History.eventID(fromPublishReply: $0))" }
    }

    /// Waits until Redis reports `count` subscribers (nodes) on each topic's channel.
    public func waitForSubscribers(_ topics: [String], count: Int = 1) async throws {
        try await waitUntil("\(count) node(s) subscribed to \(topics)") {
            let reply = try await connection.send(
                RedisCommand("PUBSUB", arguments: ["NUMSUB"] + topics.map { "sse:{\($0)}" }))
            let counts = (reply.array ?? []).enumerated().filter { $0.offset % 2 == 1 }.map { $0.element.int ?? -1 }
            return counts.count == topics.count && counts.allSatisfy { $0 == Int64(count) }
        }
    }

    public func close() { connection.closeNow() }
}

/// A `Mutex` that closures and tasks can share.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) { mutex = Mutex(value) }

    public func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { value in body(&value) }
    }

    public var value: Value { mutex.withLock { $0 } }
}
