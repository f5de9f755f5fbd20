import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSEHistory
import SSEProtocol
import SSETestSupport

/// What every client of a topic must end with: these events, in this order, each once.
typealias Expected = [SSETestClient.Event]

/// The stream path for `topic` as the demo page opens it: resuming after the id the page was rendered at
/// (`lastEventId`, engine.js's `data-last-event-id`). A client whose first stream dies before any event arrived
/// then still resumes from that point (with no id at all it could only start again from "now").
///
/// The point is a marker event published on `topic` now; clients never receive it, only what follows.
func streamPath(_ topic: String, from redis: LocalRedisServer) async throws -> String {
    let publisher = try await TestPublisher.connect(redis)
    defer { publisher.close() }
    let rendered = try await publisher.publish(topic, "page rendered")
    return "/sse?topic=\(topic)&lastEventId=\(rendered)"
}

/// Publishes `count` reliable events on `topic` in batches of `batchSize`, pausing `pause` between batches, and
/// runs `between(batchNumber)` after each batch (where a test kills, stops or restarts something mid-stream).
///
/// A batch that fails (Redis restarting) is sent again until acknowledged, for at most 30 s: faults are injected
/// only between batches, so a failed batch never landed and a resend cannot duplicate it.
func publishStream(
    _ topic: String, count: Int, batchSize: Int = 50, pause: Duration = .milliseconds(20), redis: LocalRedisServer,
    between: (Int) async throws -> Void = { _ in }
) async throws -> Expected {
    let client = RedisClient(configuration: redis.configuration)
    let topicName = try Topic(validating: topic)
    var expected: Expected = []
    var batch = 0
    while expected.count < count {
        let data = (expected.count..<min(count, expected.count + batchSize)).map { "\(topic)-event-\($0)" }
        let commands = data.map { History.publishCommand(topicName, event: nil, data: $0, maxLength: 100_000) }
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                let ids = try await client.pipeline(commands).map { try History.eventID(fromPublishReply: $0) }
                expected += zip(ids, data).map { SSETestClient.Event(id: "\($0)", event: nil, data: $1) }
                break
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        batch += 1
        try await between(batch)
        try await Task.sleep(for: pause)
    }
    await client.close()
    return expected
}

/// Waits until every client has received the last expected event. Ids on a stream strictly increase, so by then
/// everything a client will ever get of `expected` (and any duplicate) has arrived. On timeout the error shows
/// where the first few clients that are behind stand.
func waitForCompletion(of clients: [ReconnectingSSEClient], expected: Expected, timeout: Duration = .seconds(60))
    async throws
{
    let last = expected.last?.id
    do {
        try await waitUntil("every client has the last event", timeout: timeout) {
            clients.allSatisfy { $0.lastID == last }
        }
    } catch let error as TimedOut {
        let behind = clients.enumerated().filter { $0.element.lastID != last }
        let details = behind.prefix(3).map { index, client in
            "client \(index): \(client.eventCount) events, last id \(client.lastID ?? "none"), connections "
                + describe(client.connections)
        }
        throw ClusterTestError(
            message: "\(error): \(behind.count) of \(clients.count) clients lack \(last ?? "none"); "
                + details.joined(separator: "; "))
    }
}

struct ClusterTestError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// One client's connections as `status@node(events, Last-Event-ID sent, open/closed)`, for failure messages.
func describe(_ connections: [ReconnectingSSEClient.Connection]) -> String {
    connections.map { connection in
        let answer = connection.status.map(String.init) ?? connection.error ?? "no answer"
        let state = connection.closedAt == nil ? "open" : "closed"
        let resumed = connection.lastEventID ?? "-"
        return "\(answer)@\(connection.node ?? "?")(\(connection.eventCount) events, after \(resumed), \(state))"
    }.joined(separator: " → ")
}

/// The first way `received` differs from `expected` (short enough for a test failure message), or nil.
func sequenceProblem(_ received: [SSETestClient.Event], expected: Expected) -> String? {
    if received == expected { return nil }
    let ids = received.compactMap(\.id)
    if Set(ids).count != ids.count { return "duplicate ids (\(ids.count - Set(ids).count) repeated)" }
    let missing = Set(expected.compactMap(\.id)).subtracting(ids)
    if !missing.isEmpty { return "\(missing.count) missing, e.g. \(missing.sorted().prefix(3))" }
    if received.count != expected.count { return "\(received.count) events, expected \(expected.count)" }
    let index = zip(received, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
    return "event \(index) is \(received[index]), expected \(expected[index])"
}

/// One line per client whose events are not exactly `expected`.
func sequenceProblems(_ clients: [ReconnectingSSEClient], expected: Expected) -> [String] {
    clients.enumerated().compactMap { index, client in
        sequenceProblem(client.events, expected: expected).map { "client \(index): \($0)" }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

extension TestCluster {
    /// `active_connections` of each node, through nginx, in node order.
    func activeConnections() async throws -> [Int] {
        try await (1...nodes.count).asyncMap { try await metrics(ofNode: $0).activeConnections }
    }
}
