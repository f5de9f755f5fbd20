import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
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
/// The request is written as bytes and the answer read by ``SSEResponseReader``, the reader the test client uses
/// too: chunked or close-delimited bodies alike, and a broken one named.
enum TailConnection {
    struct Outcome: Sendable {
        var status: Int
        var lastEventID: String?
        var retry: Int?
    }

    static func run(_ target: StreamURL, lastEventID: String?, printer: TailPrinter) async throws -> Outcome {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: Outcome.self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TailHandler(printer: printer, done: promise))
                }
            }
            .connect(host: target.host, port: target.port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request(target, lastEventID: lastEventID))).get()
        return try await promise.futureResult.get()
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

/// Reads the answer with an ``SSEResponseReader`` and prints as it goes; a non-200 answer is printed whole.
private final class TailHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let printer: TailPrinter
    private let done: EventLoopPromise<Outcome>
    private var reader = SSEResponseReader()
    private var outcome = Outcome(status: 0)
    private var finished = false

    typealias Outcome = TailConnection.Outcome

    init(printer: TailPrinter, done: EventLoopPromise<Outcome>) {
        self.printer = printer
        self.done = done
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        let hadHead = reader.status != nil
        let parsed = reader.read(unwrapInboundIn(data))
        if let malformed = reader.malformed {
            return fail(MalformedStream(description: malformed), context: context)
        }
        guard let status = reader.status else { return }
        if !hadHead {
            outcome.status = status
            // "HTTP 503 Service Unavailable": the status line without its version.
            let statusLine = reader.headText?.split(separator: "\r\n").first ?? ""
            if status != 200 { printer.note("HTTP \(statusLine.split(separator: " ", maxSplits: 1).last ?? "")") }
        }
        if status == 200 {
            for item in parsed {
                if case .retry(let value) = item { outcome.retry = value }
                if !printer.print(item) { return finish(context: context) }
            }
        }
        // A chunked body's last chunk, or a body of its Content-Length (an error answer on a connection kept
        // alive): the answer is complete.
        let length = reader.header("Content-Length").flatMap { Int($0) }
        if reader.isComplete || length.map({ reader.body.count >= $0 }) == true { finish(context: context) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        done.fail(error)
        context.close(promise: nil)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        if outcome.status != 200 {
            let text = String(decoding: reader.body, as: UTF8.self).trimmingSuffixNewlines()
            if !text.isEmpty { printer.note(text) }
        }
        let id = reader.lastEventID
        outcome.lastEventID = id.isEmpty ? nil : id
        done.succeed(outcome)
        context.close(promise: nil)
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
