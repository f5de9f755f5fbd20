import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SSEClient
import SSEProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// Prints what `tail` receives; shared by the connections of one run (one at a time).
final class TailPrinter: Sendable {
    private struct State {
        var printed = 0
    }

    let showComments: Bool
    let limit: Int?
    private let state = NIOLockedValueBox(State())

    init(showComments: Bool, limit: Int?) {
        self.showComments = showComments
        self.limit = limit
    }

    var isDone: Bool { limit.map { limit in state.withLockedValue { $0.printed >= limit } } ?? false }

    /// Prints one parsed item in `text/event-stream` form; returns false once the event limit is reached.
    func print(_ parsed: SSEDecoder.Parsed) -> Bool {
        switch parsed {
        case .event(let id, let event, let data):
            var block = ""
            if let id { block += "id: \(id)\n" }
            if let event { block += "event: \(event)\n" }
            for line in data.split(separator: "\n", omittingEmptySubsequences: false) { block += "data: \(line)\n" }
            Self.write(block + "\n", to: 1)
            return state.withLockedValue { state in
                state.printed += 1
                return limit.map { state.printed < $0 } ?? true
            }
        case .comment(let text):
            if showComments { Self.write(": \(text)\n\n", to: 1) }
        case .retry(let value):
            if showComments { Self.write("retry: \(value)\n\n", to: 1) }
        }
        return true
    }

    /// A line about the connection itself, on standard error so standard output stays an event stream.
    func note(_ text: String) {
        Self.write("ssectl: \(text)\n", to: 2)
    }

    /// Unbuffered, so a piped `tail` shows each event the moment it arrives.
    private static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

/// One HTTP request for a stream, read until the server closes it (or the event limit is reached).
///
/// The request goes out on an `SSEStreamConnection` (SSEClient) and the answer is read by `SSEResponseReader`: the
/// connection and the reader of the test client too, so chunked and close-delimited bodies alike are read, and a
/// broken one named.
enum TailConnection {
    struct Outcome: Sendable {
        var status: Int
        var lastEventID: String?
        var retry: Int?
    }

    static func run(_ target: StreamURL, lastEventID: String?, printer: TailPrinter) async throws -> Outcome {
        let group = MultiThreadedEventLoopGroup.singleton
        let reading = TailReading(printer: printer, done: group.next().makePromise(of: Outcome.self))
        _ = try await SSEStreamConnection.open(
            host: target.host, port: target.port, request: request(target, lastEventID: lastEventID), group: group,
            onRead: { buffer, channel in reading.read(buffer, channel: channel) }, onClose: { reading.finish() })
        return try await reading.done.futureResult.get()
    }

    /// `GET <path and query> HTTP/1.1` asking for an event stream, with `Last-Event-ID` when there is one.
    static func request(_ target: StreamURL, lastEventID: String?) -> String {
        let host = target.host.contains(":") ? "[\(target.host)]" : target.host
        var request = "GET \(target.pathAndQuery) HTTP/1.1\r\n"
        request += "Host: \(target.port == 80 ? host : "\(host):\(target.port)")\r\n"
        request += "Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
        if let lastEventID { request += "Last-Event-ID: \(lastEventID)\r\n" }
        return request + "\r\n"
    }
}

/// Reads one answer with an `SSEResponseReader` and prints as it goes; a non-200 answer is printed whole.
private final class TailReading: Sendable {
    typealias Outcome = TailConnection.Outcome

    private struct State {
        var reader = SSEResponseReader()
        var outcome = Outcome(status: 0)
        var finished = false
    }

    let printer: TailPrinter
    let done: EventLoopPromise<Outcome>
    private let state = NIOLockedValueBox(State())

    init(printer: TailPrinter, done: EventLoopPromise<Outcome>) {
        self.printer = printer
        self.done = done
    }

    func read(_ buffer: ByteBuffer, channel: any Channel) {
        let complete: Bool = state.withLockedValue { state in
            guard !state.finished else { return false }
            let hadHead = state.reader.status != nil
            let parsed = state.reader.read(buffer)
            if let malformed = state.reader.malformed {
                state.finished = true
                done.fail(MalformedStream(description: malformed))
                return false
            }
            guard let status = state.reader.status else { return false }
            if !hadHead {
                state.outcome.status = status
                // "HTTP 503 Service Unavailable": the status line without its version.
                let statusLine = state.reader.headText?.split(separator: "\r\n").first ?? ""
                if status != 200 { printer.note("HTTP \(statusLine.split(separator: " ", maxSplits: 1).last ?? "")") }
            }
            if status == 200 {
                for item in parsed {
                    if case .retry(let value) = item { state.outcome.retry = value }
                    if !printer.print(item) { return true }
                }
            }
            // A chunked body's last chunk, or a body of its Content-Length (an error answer on a connection kept
            // alive): the answer is complete.
            let length = state.reader.header("Content-Length").flatMap { Int($0) }
            return state.reader.isComplete || length.map { state.reader.body.count >= $0 } == true
        }
        if complete { finish() }
        if complete || state.withLockedValue({ $0.finished }) { channel.close(promise: nil) }
    }

    /// The answer is over (complete, the event limit reached, or the connection closed).
    func finish() {
        let outcome: Outcome? = state.withLockedValue { state in
            guard !state.finished else { return nil }
            state.finished = true
            if state.outcome.status != 200 {
                let text = String(decoding: state.reader.body, as: UTF8.self).trimmingSuffixNewlines()
                if !text.isEmpty { printer.note(text) }
            }
            let id = state.reader.lastEventID
            state.outcome.lastEventID = id.isEmpty ? nil : id
            return state.outcome
        }
        if let outcome { done.succeed(outcome) }
    }
}

/// An answer that is not well-formed HTTP/1.x (a broken chunk size, a head that is not HTTP).
private struct MalformedStream: Error, CustomStringConvertible {
    let description: String
}

extension String {
    fileprivate func trimmingSuffixNewlines() -> String {
        var text = self
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return text
    }
}
