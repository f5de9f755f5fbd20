import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
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
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        TailHandler(printer: printer, done: promise))
                }
            }
            .connect(host: target.host, port: target.port).get()
        var headers = HTTPHeaders([
            ("Host", target.port == 80 ? target.host : "\(target.host):\(target.port)"),
            ("Accept", "text/event-stream"), ("Cache-Control", "no-cache"),
        ])
        if let lastEventID { headers.add(name: "Last-Event-ID", value: lastEventID) }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.pathAndQuery, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        return try await promise.futureResult.get()
    }
}

/// Feeds the response body to an ``SSEDecoder`` and prints as it goes; a non-200 answer is printed whole.
private final class TailHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let printer: TailPrinter
    private let done: EventLoopPromise<Outcome>
    private var decoder = SSEDecoder()
    private var outcome = Outcome(status: 0)
    private var errorBody = ""
    private var finished = false

    typealias Outcome = TailConnection.Outcome

    init(printer: TailPrinter, done: EventLoopPromise<Outcome>) {
        self.printer = printer
        self.done = done
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            outcome.status = Int(head.status.code)
            if head.status != .ok {
                printer.note("HTTP \(head.status.code) \(head.status.reasonPhrase)")
            }
        case .body(let body):
            guard outcome.status == 200 else {
                errorBody += String(buffer: body)
                return
            }
            decoder.feed(body)
            while let parsed = decoder.next() {
                if case .retry(let value) = parsed { outcome.retry = value }
                if !printer.print(parsed) {
                    finish(context: context)
                    return
                }
            }
        case .end:
            finish(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !finished else { return }
        finished = true
        done.fail(error)
        context.close(promise: nil)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        if !errorBody.isEmpty { printer.note(errorBody.trimmingSuffixNewlines()) }
        let id = decoder.lastEventID
        outcome.lastEventID = id.isEmpty ? nil : id
        done.succeed(outcome)
        context.close(promise: nil)
    }
}

extension String {
    fileprivate func trimmingSuffixNewlines() -> String {
        var text = self
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return text
    }
}
