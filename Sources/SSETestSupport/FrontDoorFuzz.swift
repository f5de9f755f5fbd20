import LocalRedis
import NIOCore

/// Sends generated hostile requests (``MalformedRequests``) to a server, one connection each, several at a time,
/// and reports every request that was neither answered (a status below 500) nor closed within `deadline`.
public enum FrontDoorFuzz {
    /// What happened to the requests: how many were answered by status class or closed unanswered, and each one
    /// that failed (family, first bytes, what was seen).
    public struct Outcome: Sendable {
        public var answered: [Int: Int] = [:]
        public var closedUnanswered = 0
        public var failures: [String] = []
    }

    public static func run(
        port: Int, requests: MalformedRequests, concurrency: Int = 32, deadline: Duration
    ) async throws -> Outcome {
        var outcome = Outcome()
        var pending = Array(requests).makeIterator()
        try await withThrowingTaskGroup(of: (MalformedRequests.Request, Int?, Bool).self) { group in
            // A sliding window: a new request starts as each one ends, so slow ones (a deadline to wait out) do
            // not hold up the others.
            func start(_ request: MalformedRequests.Request) {
                group.addTask {
                    let client = try await SSETestClient.open(port: port, path: "", rawRequest: "")
                    defer { client.close() }
                    // Raw bytes (not every request is UTF-8); a server that already closed fails the write.
                    try? await client.channel.writeAndFlush(ByteBuffer(bytes: request.bytes)).get()
                    let end = ContinuousClock.now + deadline
                    while ContinuousClock.now < end, client.status == nil, !client.isClosed {
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    return (request, client.status, client.isClosed)
                }
            }
            for _ in 0..<concurrency {
                guard let request = pending.next() else { break }
                start(request)
            }
            for try await (request, status, closed) in group {
                if let next = pending.next() { start(next) }
                let shown = String(decoding: request.bytes.prefix(60), as: UTF8.self).debugDescription
                switch status {
                case let status? where status < 500: outcome.answered[status / 100 * 100, default: 0] += 1
                case let status?: outcome.failures.append("\(request.family) \(shown): status \(status)")
                case nil where closed: outcome.closedUnanswered += 1
                case nil:
                    outcome.failures.append("\(request.family) \(shown): no answer and no close within \(deadline)")
                }
            }
        }
        return outcome
    }
}
