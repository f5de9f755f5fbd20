import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import SSEProtocol
import ServerSupport
import Synchronization

/// Serves one HTTP connection: the probe and metrics routes, and `GET /sse`, which turns the connection into an
/// event stream owned by the loop's ``LoopHub``.
///
/// Plain routes answer synchronously and support keep-alive. An accepted stream's response is chunked (frames are
/// chunked once where they are encoded, see ``HTTPChunk``): this handler and the HTTP encoder and decoder leave the
/// pipeline to the ``SSEStream``, and frames are written to the socket as they are. An HTTP/1.0 client, which
/// cannot read chunked coding, gets a close-delimited body through an ``UnchunkingHandler``.
final class GatewayHTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Complete requests waiting for the answer before them to be written (HTTP/1.1 pipelining; browsers never
    /// pipeline). No more is read from the socket while any wait, but one read may hold many small requests; past
    /// this many the connection is closed.
    static let maxQueuedRequests = 128

    let gateway: Gateway
    let responseEncoder: HTTPResponseEncoder
    /// The request decoder ahead of this handler; it leaves the pipeline with this handler when a stream opens.
    let requestDecoder: any RemovableChannelHandler
    private var head: HTTPRequestHead?
    private var headTimeout: Scheduled<Void>?
    /// Armed when a request head announces a body: the body must be complete within the body timeout.
    private var bodyTimeout: Scheduled<Void>?
    private var bodyBytes = 0
    private var headerTooLarge = false
    /// Complete requests not answered yet, oldest first.
    private var queued: [HTTPRequestHead] = []
    /// An answer is being written: no further request is read or answered until the socket took it, so a client
    /// that sends requests and reads no answers holds at most one answer in memory.
    var answering = false
    /// A read the channel asked for while answering, made once the answer is written.
    private var readPending = false
    /// The connection is being closed after an error: what else arrives is dropped.
    private var closing = false
    /// The request being answered is a `GET /sse` (its refusals count in the stream error rate).
    var answeringStream = false
    /// The request being answered is a `HEAD`: headers only.
    var answeringHead = false

    init(gateway: Gateway, responseEncoder: HTTPResponseEncoder, requestDecoder: any RemovableChannelHandler) {
        self.gateway = gateway
        self.responseEncoder = responseEncoder
        self.requestDecoder = requestDecoder
    }

    func channelActive(context: ChannelHandlerContext) {
        armHeadTimeout(context: context)
        context.fireChannelActive()
    }

    private func armHeadTimeout(context: ChannelHandlerContext) {
        let timeout = TimeAmount(gateway.configuration.requestHeadTimeout)
        let channel = context.channel
        headTimeout = context.eventLoop.scheduleTask(in: timeout) {
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            headTimeout?.cancel()
            headTimeout = nil
            head = requestHead
            bodyBytes = 0
            let size = requestHead.headers.reduce(requestHead.uri.utf8.count) {
                $0 + $1.name.utf8.count + $1.value.utf8.count + 4
            }
            headerTooLarge = size > gateway.configuration.maxHeaderBytes
            if Self.announcesBody(requestHead) { armBodyTimeout(context: context) }
        case .body(let part):
            // No route takes a body: it is read and dropped, up to a limit.
            bodyBytes += part.readableBytes
            if bodyBytes > gateway.configuration.maxBodyBytes {
                fail(
                    HTTPFailure(
                        .contentTooLarge,
                        "request body too large: at most \(gateway.configuration.maxBodyBytes) bytes (no route takes one)"
                    ),
                    context: context)
            }
        case .end:
            bodyTimeout?.cancel()
            bodyTimeout = nil
            guard let requestHead = head else { return }
            head = nil
            guard queued.count < Self.maxQueuedRequests else {
                gateway.logger.debug("closing a connection with too many pipelined requests")
                closing = true
                context.close(promise: nil)
                return
            }
            queued.append(requestHead)
            answerNext(context: context)
        }
    }

    /// The head says a body follows (`Content-Length` above 0, or any `Transfer-Encoding`).
    private static func announcesBody(_ head: HTTPRequestHead) -> Bool {
        if head.headers.contains(name: "Transfer-Encoding") { return true }
        return head.headers["Content-Length"].contains { Int($0).map { $0 > 0 } ?? true }
    }

    private func armBodyTimeout(context: ChannelHandlerContext) {
        let timeout = gateway.configuration.bodyTimeout
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        bodyTimeout = loop.scheduleTask(in: TimeAmount(timeout)) {
            let (handler, context) = bound.value
            handler.fail(
                HTTPFailure(.requestTimeout, "request body not complete within \(Self.seconds(timeout)) s"),
                context: context)
        }
    }

    private static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// Answers a request that cannot be read to its end (its body is too large or too slow) and closes.
    private func fail(_ failure: HTTPFailure, context: ChannelHandlerContext) {
        guard !closing else { return }
        bodyTimeout?.cancel()
        bodyTimeout = nil
        closing = true
        queued.removeAll()
        gateway.stats.requests.add(1, ordering: .relaxed)
        answeringHead = false
        reject(failure, context: context)
    }

    /// Answers the oldest queued request, unless an answer is still being written.
    private func answerNext(context: ChannelHandlerContext) {
        guard !answering, !closing, !queued.isEmpty else { return }
        let next = queued.removeFirst()
        route(next, context: context)
    }

    /// An answer was written to the socket: the next request may be answered and reads may go on.
    private func answerWritten(context: ChannelHandlerContext, keepAlive: Bool) {
        answering = false
        guard !closing else {
            context.close(promise: nil)
            return
        }
        if queued.isEmpty {
            if head == nil { armHeadTimeout(context: context) }
            if readPending {
                readPending = false
                context.read()
            }
        } else {
            answerNext(context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        if answering || !queued.isEmpty {
            readPending = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        headTimeout?.cancel()
        bodyTimeout?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError {
            let failure =
                parserError == .headerOverflow
                ? HTTPFailure(.requestHeaderFieldsTooLarge, "request headers too large")
                : HTTPFailure(.badRequest, "malformed HTTP request: \(parserError)")
            if answering {
                // The answer before it is still being written; the connection ends after it.
                closing = true
                return
            }
            fail(failure, context: context)
            return
        }
        context.close(promise: nil)
    }

    // MARK: Routing

    private func route(_ requestHead: HTTPRequestHead, context: ChannelHandlerContext) {
        let stats = gateway.stats
        stats.requests.add(1, ordering: .relaxed)
        let keepAlive = requestHead.isKeepAlive
        answeringStream = false
        answeringHead = false
        if headerTooLarge {
            reject(
                HTTPFailure(
                    .requestHeaderFieldsTooLarge,
                    "request headers too large: at most \(gateway.configuration.maxHeaderBytes) bytes"),
                context: context)
            return
        }
        // RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host.
        let hosts = requestHead.headers["Host"].count
        if requestHead.version.major == 1, requestHead.version.minor >= 1, hosts != 1 {
            reject(
                HTTPFailure(
                    .badRequest, hosts == 0 ? "missing Host header" : "\(hosts) Host headers: send exactly one"),
                context: context)
            return
        }
        let uri = requestHead.uri
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        answeringHead = requestHead.method == .HEAD
        answeringStream = path == "/sse" && requestHead.method == .GET
        if answeringStream { stats.streamRequests.add(1, ordering: .relaxed) }
        let query = uri.firstIndex(of: "?").map { QueryString(uri[uri.index(after: $0)...]) } ?? QueryString("")

        let allowed: [HTTPMethod]
        switch path {
        case "/sse": allowed = [.GET, .OPTIONS]
        case "/sse-metrics", "/metrics", "/sse-health", "/healthz", "/readyz", "/sse-nodes", "/sse-presence":
            allowed = [.GET, .HEAD]
        default:
            reject(
                HTTPFailure(.notFound, "no route for \(path): try /sse?topic=NAME"), context: context,
                keepAlive: keepAlive)
            return
        }
        guard allowed.contains(requestHead.method) else {
            let names = allowed.map(\.rawValue).joined(separator: ", ")
            reject(
                HTTPFailure(
                    .methodNotAllowed, "\(requestHead.method.rawValue) not allowed on \(path): use \(names)",
                    headers: [.allow: names]),
                context: context, keepAlive: keepAlive)
            return
        }
        if path == "/sse-metrics" || path == "/metrics" || path == "/sse-health",
            let refusal = MetricsAccess(token: gateway.configuration.metricsToken).refusal(for: requestHead)
        {
            reject(refusal, context: context, keepAlive: keepAlive)
            return
        }
        switch path {
        case "/healthz":
            respond(.ok, "ok\n", contentType: "text/plain; charset=utf-8", keepAlive: keepAlive, context: context)
        case "/readyz":
            if let reason = gateway.notReadyReason {
                // An answer to the probe, not a failed request: not counted as rejected.
                respond(
                    HTTPFailure(.serviceUnavailable, "not ready: \(reason)", headers: [.retryAfter: "1"]),
                    keepAlive: keepAlive, context: context)
            } else {
                respond(
                    .ok, "ready\n", contentType: "text/plain; charset=utf-8", keepAlive: keepAlive, context: context)
            }
        case "/sse-metrics":
            respond(.ok, gateway.metricsJSON(), contentType: "application/json", keepAlive: keepAlive, context: context)
        case "/metrics":
            respond(
                .ok, gateway.prometheusText(), contentType: "text/plain; version=0.0.4; charset=utf-8",
                keepAlive: keepAlive, context: context)
        case "/sse-health":
            answerHealth(query: query, keepAlive: keepAlive, context: context)
        case "/sse-nodes", "/sse-presence":
            answerRegistry(path: path, query: query, head: requestHead, keepAlive: keepAlive, context: context)
        default:
            if requestHead.method == .OPTIONS {
                preflight(requestHead, context: context, keepAlive: keepAlive)
            } else {
                openStream(requestHead, query: query, context: context)
            }
        }
    }

    // MARK: Plain responses

    func reject(_ error: any Error, context: ChannelHandlerContext, keepAlive: Bool = false) {
        gateway.stats.rejectedRequests.add(1, ordering: .relaxed)
        if answeringStream { gateway.stats.rejectedStreamRequests.add(1, ordering: .relaxed) }
        let failure = error as? HTTPFailure ?? HTTPFailure(.internalServerError, "internal error")
        respond(failure, keepAlive: keepAlive, context: context)
    }

    private func respond(_ failure: HTTPFailure, keepAlive: Bool, context: ChannelHandlerContext) {
        gateway.logger.debug(
            "rejected request",
            metadata: ["http.status": "\(failure.status.code)", "http.reason": "\(failure.message)"])
        respond(
            HTTPResponseStatus(statusCode: failure.status.code, reasonPhrase: failure.status.reasonPhrase),
            failure.message + "\n", contentType: "text/plain; charset=utf-8", keepAlive: keepAlive,
            extraHeaders: failure.headers.map { ($0.name.rawName, $0.value) }, context: context)
    }

    func respond(
        _ status: HTTPResponseStatus, _ body: String, contentType: String?, keepAlive: Bool,
        extraHeaders: [(String, String)] = [], context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders()
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(contentsOf: extraHeaders)
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !body.isEmpty && !answeringHead {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        }
        let channel = context.channel
        answering = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { result in
            guard keepAlive, case .success = result else {
                channel.close(promise: nil)
                return
            }
            let (handler, context) = bound.value
            handler.answerWritten(context: context, keepAlive: keepAlive)
        }
    }
}
