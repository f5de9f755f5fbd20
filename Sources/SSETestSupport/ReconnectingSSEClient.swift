import Foundation
import LocalRedis
import NIOCore
import Synchronization

/// A test client that behaves like a browser's `EventSource`: when its stream closes, it waits for the last
/// `retry:` hint the server sent (or `defaultRetry`) and opens the same URL again with `Last-Event-ID` set to the
/// last id it received. Every connection it made is recorded (status, serving node, when it opened and closed), so
/// tests can assert how clients moved between nodes, and ``events`` is what the application would have seen: all
/// events of all connections, in arrival order.
///
/// Unlike `EventSource`, which gives up for good after a non-200 answer, it records the answer and tries again, so
/// a test sees such answers as failed expectations instead of a client that silently stopped.
public final class ReconnectingSSEClient: Sendable {
    /// One HTTP connection of the client.
    public struct Connection: Sendable {
        /// The response status; nil when the connection failed before a response head arrived.
        public var status: Int?
        /// The node named by the stream's `: connected to <node-id>` comment.
        public var node: String?
        /// The `Last-Event-ID` this connection was opened with.
        public var lastEventID: String?
        public var openedAt: ContinuousClock.Instant
        /// When the stream was seen closed; nil while open.
        public var closedAt: ContinuousClock.Instant?
        /// Events received on this connection.
        public var eventCount: Int
        /// Why the connection could not be opened, if it could not.
        public var error: String?
    }

    private struct State {
        var earlier: [SSETestClient.Event] = []
        var current: SSETestClient?
        var connections: [Connection] = []
        var stopped = false
        var task: Task<Void, Never>?
    }

    public let port: Int
    public let path: String
    public let defaultRetry: Duration
    private let state = Mutex(State())

    private init(port: Int, path: String, defaultRetry: Duration) {
        self.port = port
        self.path = path
        self.defaultRetry = defaultRetry
    }

    /// Starts connecting to `GET path` on 127.0.0.1:`port` and keeps the stream open until ``close()``.
    public static func open(port: Int, path: String, defaultRetry: Duration = .milliseconds(300))
        -> ReconnectingSSEClient
    {
        let client = ReconnectingSSEClient(port: port, path: path, defaultRetry: defaultRetry)
        let task = Task { await client.run() }
        client.state.withLock { $0.task = task }
        return client
    }

    private func run() async {
        while !state.withLock({ $0.stopped }) {
            let lastID = lastID
            let headers = lastID.map { [("Last-Event-ID", $0)] } ?? []
            var retry = defaultRetry
            let openedAt = ContinuousClock.now
            do {
                let client = try await SSETestClient.open(port: port, path: path, headers: headers)
                let keep = state.withLock { state in
                    guard !state.stopped else { return false }
                    state.current = client
                    state.connections.append(
                        Connection(
                            status: nil, node: nil, lastEventID: lastID, openedAt: openedAt, closedAt: nil,
                            eventCount: 0, error: nil))
                    return true
                }
                guard keep else {
                    client.close()
                    return
                }
                // A refusal (503 and the like) may come with keep-alive, so its connection would stay open: end the
                // attempt once its head is in, as EventSource does (it then gives up; this client tries again).
                while client.head == nil && !client.isClosed && !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(5))
                }
                if let status = client.status, status != 200 { client.close() }
                try? await client.channel.closeFuture.get()
                let closedAt = ContinuousClock.now
                // Every read happens before the channel reports itself inactive, so this is all it received.
                let events = client.events
                state.withLock { state in
                    state.earlier += events
                    state.current = nil
                    state.connections[state.connections.count - 1] = Self.describe(
                        client, lastEventID: lastID, openedAt: openedAt, closedAt: closedAt)
                }
                if let hint = client.retries.last { retry = .milliseconds(hint) }
            } catch {
                state.withLock { state in
                    state.connections.append(
                        Connection(
                            status: nil, node: nil, lastEventID: lastID, openedAt: openedAt, closedAt: .now,
                            eventCount: 0, error: "\(error)"))
                }
            }
            if state.withLock({ $0.stopped }) { return }
            try? await Task.sleep(for: retry)
        }
    }

    private static func describe(
        _ client: SSETestClient, lastEventID: String?, openedAt: ContinuousClock.Instant,
        closedAt: ContinuousClock.Instant?
    ) -> Connection {
        let node = client.comments.first { $0.hasPrefix("connected to ") }.map {
            String($0.dropFirst("connected to ".count))
        }
        return Connection(
            status: client.status, node: node, lastEventID: lastEventID, openedAt: openedAt, closedAt: closedAt,
            eventCount: client.events.count, error: nil)
    }

    /// Every event received, over all connections, in arrival order.
    public var events: [SSETestClient.Event] {
        state.withLock { state in state.earlier + (state.current?.events ?? []) }
    }

    /// The number of events received so far (cheaper than `events.count`).
    public var eventCount: Int {
        state.withLock { state in state.earlier.count + (state.current?.events.count ?? 0) }
    }

    /// The id a reconnect would send: the last id received on any connection.
    public var lastID: String? {
        state.withLock { state in
            state.current?.lastID ?? state.earlier.last { $0.id != nil }?.id
        }
    }

    /// Every connection so far, the open one last (with its status and node as known now).
    public var connections: [Connection] {
        state.withLock { state in
            var list = state.connections
            if let current = state.current, let last = list.last {
                list[list.count - 1] = Self.describe(
                    current, lastEventID: last.lastEventID, openedAt: last.openedAt, closedAt: nil)
            }
            return list
        }
    }

    /// The node serving the open stream, once its opening comment has arrived.
    public var currentNode: String? {
        state.withLock { state in
            state.current?.comments.first { $0.hasPrefix("connected to ") }.map {
                String($0.dropFirst("connected to ".count))
            }
        }
    }

    /// The comments of the open stream so far (its opening comment, heartbeats): none when no stream is open.
    public var currentComments: [String] {
        state.withLock { $0.current?.comments ?? [] }
    }

    /// The open stream's body bytes as received so far (chunk framing included), for a failure's report.
    public var currentRawBody: [UInt8] {
        state.withLock { $0.current?.rawBody ?? [] }
    }

    /// Why the open stream's answer could not be read, if it could not.
    public var currentMalformed: String? {
        state.withLock { $0.current?.malformedResponse }
    }

    /// Waits until a stream is open and has its opening comment: events published from then on reach it.
    public func waitUntilConnected(timeout: Duration = .seconds(15)) async throws {
        try await waitUntil("a connected stream on \(path)", timeout: timeout) { currentNode != nil }
    }

    /// Waits until `count` events have arrived over all connections.
    public func waitForEvents(_ count: Int, timeout: Duration = .seconds(30)) async throws {
        try await waitUntil("\(count) events (have \(eventCount))", timeout: timeout) { eventCount >= count }
    }

    /// Stops reconnecting and closes the open stream.
    public func close() {
        let (current, task) = state.withLock { state in
            state.stopped = true
            return (state.current, state.task)
        }
        current?.close()
        task?.cancel()
    }

    deinit {
        close()
    }
}
