import NIOCore
import NIOHTTP1

/// Bounds every request before Hummingbird sees it: one deadline for the whole request, one size for any body, and
/// RFC 9112's `Host` rule. Sits between NIO's HTTP/1 decoder and Hummingbird's codec, on the connection's loop.
///
/// - **Deadline.** Hummingbird's idle timeout restarts on every byte, so a body trickled one byte every 20 s kept
///   a request open for minutes (issue 12, finding 8). The deadline runs from the request's first byte (noticed
///   by ``RequestStart`` ahead of the decoder) to the end of its body; past it the request gets `408` with one
///   line, or a close when an answer was already sent. Time between keep-alive requests is the idle timeout's.
/// - **Body size.** More than ``maximumBodyBytes`` on any route gets `413` and a close, also where the handler
///   never reads the body (Hummingbird would read and drop it all).
/// - **Host.** An HTTP/1.1 request without `Host`, or any request with two, gets `400` and a close (finding 10).
///
/// After a refusal nothing more is read from the connection and whatever Hummingbird still writes is dropped.
final class RequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Longest time from a request's first byte to the end of its body.
    let deadline: TimeAmount
    /// Largest body of any route (the publish API's).
    let maximumBodyBytes: Int

    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    /// From a request's first byte to its end.
    private var inRequest = false
    /// An answer to the current request has begun (its head was written).
    private var answered = false
    private var bodyBytes = 0
    /// This handler answered (or closed) the connection itself.
    private var refused = false

    init(deadline: TimeAmount, maximumBodyBytes: Int) {
        self.deadline = deadline
        self.maximumBodyBytes = maximumBodyBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    /// Bytes arrived ahead of the decoder: a new request starts its deadline here, before its head is complete.
    func bytesArrived() {
        guard !inRequest, !refused else { return }
        inRequest = true
        startDeadline()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if !inRequest {
                inRequest = true
                startDeadline()
            }
            answered = false
            bodyBytes = 0
            let hosts = head.headers["Host"].count
            if hosts > 1 {
                return refuse(.badRequest, "\(hosts) Host headers: a request must have exactly one")
            }
            if hosts == 0, head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1) {
                return refuse(.badRequest, "missing Host header: an HTTP/1.1 request must have exactly one")
            }
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            if bodyBytes > maximumBodyBytes {
                return refuse(.payloadTooLarge, "request body too large: at most \(maximumBodyBytes) bytes")
            }
        case .end:
            inRequest = false
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !refused else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if case .head = unwrapOutboundIn(data) { answered = true }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func startDeadline() {
        guard let context, timer == nil else { return }
        let seconds = Self.seconds(deadline)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: deadline) { [self] in
            timer = nil
            refuse(.requestTimeout, "request not complete within \(seconds) s: send the whole request in time")
        }
    }

    /// Answers `status` with one line (unless an answer already began) and closes the connection.
    private func refuse(_ status: HTTPResponseStatus, _ message: String) {
        guard let context, !refused else { return }
        refused = true
        timer?.cancel()
        timer = nil
        guard !answered else {
            context.close(promise: nil)
            return
        }
        let body = context.channel.allocator.buffer(string: message + "\n")
        let headers: HTTPHeaders = [
            "Content-Type": "text/plain; charset=utf-8", "Content-Length": "\(body.readableBytes)",
            "Cache-Control": "no-store", "Connection": "close",
        ]
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))))
            .whenFailure { _ in }
        context.write(wrapOutboundOut(.body(.byteBuffer(body)))).whenFailure { _ in }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// `30`, or `0.5`: seconds as a person writes them.
    static func seconds(_ amount: TimeAmount) -> String {
        let value = Double(amount.nanoseconds) / 1e9
        return value == value.rounded() ? String(Int64(value)) : String(value)
    }
}

/// The first handler of a connection: tells ``RequestGuard`` that bytes arrived, so a request's deadline starts
/// with its first byte even while its head is still incomplete (a head trickled forever would otherwise never
/// reach the guard).
final class RequestStart: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let guardHandler: RequestGuard

    init(_ guardHandler: RequestGuard) {
        self.guardHandler = guardHandler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guardHandler.bytesArrived()
        context.fireChannelRead(data)
    }
}
