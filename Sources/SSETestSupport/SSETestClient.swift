import Foundation
import LocalRedis
import NIOCore
import NIOPosix
import SSEClient
import SSEProtocol
import Synchronization

/// A raw HTTP/1.1 client for tests: sends a request as written and records every byte of the answer, parsing the
/// status, the headers and (for event streams) the SSE events as they arrive. A chunked body is decoded, and
/// ``isBodyComplete`` tells whether it ended with its last chunk (finished on purpose) or just stopped (broken).
public final class SSETestClient: Sendable {
    public struct Event: Hashable, Sendable {
        public var id: String?
        public var event: String?
        public var data: String

        public init(id: String? = nil, event: String? = nil, data: String) {
            self.id = id
            self.event = event
            self.data = data
        }
    }

    private struct State {
        var raw: [UInt8] = []
        var headEnd: Int?
        /// Head, body and events, as `ssectl tail` reads them too.
        var reader = SSEResponseReader()
        public var events: [Event] = []
        public var comments: [String] = []
        public var retries: [Int] = []
        var closed = false
    }

    /// What the connection received, parsed; exists before the connection, which may deliver bytes at once.
    private final class Received: Sendable {
        let state = Mutex(State())

        fileprivate func read(_ buffer: ByteBuffer) {
            state.withLock { state in
                state.raw.append(contentsOf: buffer.readableBytesView)
                if state.headEnd == nil, let range = state.raw.firstRange(of: Array("\r\n\r\n".utf8)) {
                    state.headEnd = range.upperBound
                }
                for parsed in state.reader.read(buffer) {
                    switch parsed {
                    case .event(let id, let event, let data):
                        state.events.append(Event(id: id, event: event, data: data))
                    case .comment(let text): state.comments.append(text)
                    case .retry(let value): state.retries.append(value)
                    }
                }
            }
        }
    }

    private let received: Received
    public let channel: any Channel

    /// Test clients parse on their own loops (not NIO's two-thread singleton), so a suite moving many megabytes
    /// does not delay another suite's reads and closes.
    public static let group = MultiThreadedEventLoopGroup(numberOfThreads: 8)

    private init(channel: any Channel, received: Received) {
        self.channel = channel
        self.received = received
    }

    /// Connects and sends `GET path`. With `reading: false` the client reads nothing after the head is sent, and
    /// its receive buffer is tiny, so the server's unsent bytes pile up (a slow consumer).
    public static func open(
        port: Int, path: String, headers: [(String, String)] = [], reading: Bool = true, rawRequest: String? = nil
    ) async throws -> SSETestClient {
        var request = rawRequest ?? "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n"
        if rawRequest == nil {
            for (name, value) in headers { request += "\(name): \(value)\r\n" }
            request += "\r\n"
        }
        let received = Received()
        let channel = try await SSEStreamConnection.open(
            host: "127.0.0.1", port: port, request: request, group: group, reading: reading,
            receiveBufferBytes: reading ? nil : 4096, onRead: { buffer, _ in received.read(buffer) },
            onClose: { received.state.withLock { $0.closed = true } })
        return SSETestClient(channel: channel, received: received)
    }

    public var isClosed: Bool { received.state.withLock { $0.closed } }
    public var events: [Event] { received.state.withLock { $0.events } }
    public var comments: [String] { received.state.withLock { $0.comments } }
    public var retries: [Int] { received.state.withLock { $0.retries } }
    public var lastID: String? { events.last { $0.id != nil }?.id }

    /// The response head as text (status line and headers), once complete.
    public var head: String? {
        received.state.withLock { state in state.headEnd.map { String(decoding: state.raw[..<$0], as: UTF8.self) } }
    }

    /// The body after the head, with any chunked coding removed.
    public var body: [UInt8] { received.state.withLock { $0.reader.body } }

    /// The bytes after the head exactly as received (chunk framing included).
    public var rawBody: [UInt8] {
        received.state.withLock { state in state.headEnd.map { Array(state.raw[$0...]) } ?? [] }
    }

    /// The body is chunked (every stream from the gateway over HTTP/1.1, and every answer through nginx).
    public var isChunked: Bool { received.state.withLock { $0.reader.isChunked } }

    /// A chunked body ended with its last chunk: the server finished it on purpose. False while it is open and
    /// when the connection closed without it (a broken body, which a `fetch` reader reports as an error).
    public var isBodyComplete: Bool { received.state.withLock { $0.reader.isComplete } }

    /// Why the answer could not be read as HTTP/1.1 (malformed chunk coding), if it could not.
    public var malformedResponse: String? { received.state.withLock { $0.reader.malformed } }

    public var status: Int? {
        guard let head, let line = head.split(separator: "\r\n").first else { return nil }
        let parts = line.split(separator: " ")
        return parts.count > 1 ? Int(parts[1]) : nil
    }

    public func header(_ name: String) -> String? {
        head.flatMap { SSEResponseReader.header(name, in: $0) }
    }

    public func close() {
        channel.close(promise: nil)
    }

    /// Waits for the opening `: connected to …` comment: from then on every published event reaches this stream.
    public func waitUntilConnected(timeout: Duration = .seconds(15)) async throws {
        try await waitUntil("the stream's opening comment", timeout: timeout) {
            comments.contains { $0.hasPrefix("connected to ") }
        }
    }

    /// Waits until `count` events have arrived.
    public func waitForEvents(_ count: Int, timeout: Duration = .seconds(15)) async throws {
        try await waitUntil("\(count) events (have \(events.count))", timeout: timeout) {
            events.count >= count
        }
    }
}

/// Plain HTTP requests (`Connection: close`), answered in full.
public enum HTTPProbe {
    public struct Response {
        public var status: Int
        public var head: String
        public var body: String
        public func header(_ name: String) -> String? {
            SSEResponseReader.header(name, in: head)
        }
    }

    public static func get(port: Int, path: String, method: String = "GET", headers: [(String, String)] = [])
        async throws -> Response
    {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        return try await send(port: port, raw: request + "\r\n")
    }

    public static func send(port: Int, raw: String) async throws -> Response {
        let client = try await SSETestClient.open(port: port, path: "", rawRequest: raw)
        try await waitUntil("response to \(raw.prefix(40)) closed", timeout: .seconds(10)) { client.isClosed }
        let head = client.head ?? ""
        return Response(status: client.status ?? 0, head: head, body: String(decoding: client.body, as: UTF8.self))
    }
}
