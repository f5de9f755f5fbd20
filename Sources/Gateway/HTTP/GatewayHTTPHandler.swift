import Logging
import NIOCore
import NIOHTTP1
import SSEProtocol

/// Serves one HTTP connection: the probe and metrics routes, and `GET /sse`, which turns the connection into an
/// event stream owned by the loop's ``LoopHub``.
///
/// Plain routes answer synchronously and support keep-alive. An accepted stream's response is chunked (frames are
/// chunked once where they are encoded, see ``HTTPChunk``): this handler and the HTTP encoder and decoder leave the
/// pipeline to an ``SSEStreamHandler``, and frames are written to the socket as they are. An HTTP/1.0 client, which
/// cannot read chunked coding, gets a close-delimited body through an ``UnchunkingHandler``.
final class GatewayHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let gateway: Gateway
    private let responseEncoder: HTTPResponseEncoder
    /// The request decoder ahead of this handler; it leaves the pipeline with this handler when a stream opens.
    private let requestDecoder: any RemovableChannelHandler
    private var head: HTTPRequestHead?
    private var headTimeout: Scheduled<Void>?
    private var headerTooLarge = false
    /// The request being answered is a `GET /sse` (its refusals count in the stream error rate).
    private var answeringStream = false
    /// The request being answered is a `HEAD`: headers only.
    private var answeringHead = false

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
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            headTimeout?.cancel()
            headTimeout = nil
            head = requestHead
            let size = requestHead.headers.reduce(requestHead.uri.utf8.count) {
                $0 + $1.name.utf8.count + $1.value.utf8.count + 4
            }
            headerTooLarge = size > gateway.configuration.maxHeaderBytes
        case .body:
            break  // bodies are not used by any route; they are read and dropped
        case .end:
            guard let requestHead = head else { return }
            head = nil
            route(requestHead, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        headTimeout?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError {
            gateway.stats.requests.add(1, ordering: .relaxed)
            gateway.stats.rejectedRequests.add(1, ordering: .relaxed)
            let failure =
                parserError == .headerOverflow
                ? HTTPError(.requestHeaderFieldsTooLarge, "request headers too large")
                : HTTPError(.badRequest, "malformed HTTP request: \(parserError)")
            respond(failure, keepAlive: false, context: context)
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
                HTTPError(
                    .requestHeaderFieldsTooLarge,
                    "request headers too large: at most \(gateway.configuration.maxHeaderBytes) bytes"),
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
        case "/sse-metrics", "/metrics", "/healthz", "/readyz": allowed = [.GET, .HEAD]
        default:
            reject(
                HTTPError(.notFound, "no route for \(path): try /sse?topic=NAME"), context: context,
                keepAlive: keepAlive)
            return
        }
        guard allowed.contains(requestHead.method) else {
            let names = allowed.map(\.rawValue).joined(separator: ", ")
            reject(
                HTTPError(
                    .methodNotAllowed, "\(requestHead.method.rawValue) not allowed on \(path): use \(names)",
                    headers: [("Allow", names)]),
                context: context, keepAlive: keepAlive)
            return
        }
        switch path {
        case "/healthz":
            respond(.ok, "ok\n", contentType: "text/plain; charset=utf-8", keepAlive: keepAlive, context: context)
        case "/readyz":
            if let reason = gateway.notReadyReason {
                // An answer to the probe, not a failed request: not counted as rejected.
                respond(
                    HTTPError(.serviceUnavailable, "not ready: \(reason)", headers: [("Retry-After", "1")]),
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
        default:
            if requestHead.method == .OPTIONS {
                preflight(requestHead, context: context, keepAlive: keepAlive)
            } else {
                openStream(requestHead, query: query, context: context)
            }
        }
    }

    // MARK: Streams

    private func openStream(_ requestHead: HTTPRequestHead, query: QueryString, context: ChannelHandlerContext) {
        let configuration = gateway.configuration
        let stats = gateway.stats
        let cors: CORSPolicy.Verdict
        let request: StreamRequest
        do {
            cors = try gateway.cors.verdict(for: requestHead)
            request = try StreamRequest(
                head: requestHead, query: query, maxTopics: configuration.maxTopicsPerConnection)
        } catch {
            reject(error, context: context)
            return
        }
        if let reason = gateway.notReadyReason {
            reject(
                HTTPError(.serviceUnavailable, "node not ready: \(reason)", headers: [("Retry-After", "2")]),
                context: context)
            return
        }
        // Reserve a slot atomically: concurrent accepts on other loops cannot overshoot the limit.
        let (_, active) = stats.activeConnections.add(1, ordering: .relaxed)
        if active > configuration.maxConnections {
            stats.activeConnections.subtract(1, ordering: .relaxed)
            reject(
                HTTPError(
                    .serviceUnavailable, "node at its limit of \(configuration.maxConnections) streams",
                    headers: [("Retry-After", "5")]), context: context)
            return
        }
        stats.connectionsTotal.add(1, ordering: .relaxed)

        // From here on the response is a raw event stream, and the channel's pipeline is the socket and an
        // SSEStreamHandler (behind an UnchunkingHandler for HTTP/1.0): the HTTP encoder, decoder and this router
        // leave it.
        let chunked = requestHead.version.major > 1 || requestHead.version.minor >= 1
        let operations = context.pipeline.syncOperations
        let streamHandler = SSEStreamHandler()
        let streamContext: ChannelHandlerContext
        do {
            try operations.addHandler(streamHandler, position: .first)
            if !chunked { try operations.addHandler(UnchunkingHandler(), position: .first) }
            streamContext = try operations.context(handler: streamHandler)
        } catch {
            stats.activeConnections.subtract(1, ordering: .relaxed)
            context.close(promise: nil)
            return
        }
        operations.removeHandler(responseEncoder, promise: nil)
        operations.removeHandler(requestDecoder, promise: nil)
        operations.removeHandler(context: context, promise: nil)

        // The head goes through the unchunking handler too (it passes what is not a chunk run); written in one
        // buffer with the first chunk.
        var opening = streamContext.channel.allocator.buffer(capacity: 512)
        opening.writeString(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\n"
                + "X-Accel-Buffering: no\r\n" + (chunked ? "Transfer-Encoding: chunked\r\n" : "")
                + "Connection: close\r\n")
        for (name, value) in cors.headers { opening.writeString("\(name): \(value)\r\n") }
        opening.writeString("\r\n")
        let retry = configuration.retryMilliseconds
        var retryFrame = ByteBuffer()
        SSEEncoder.retry(milliseconds: retry + Int.random(in: 0...(retry / 2)), into: &retryFrame)
        opening.writeImmutableBuffer(HTTPChunk.wrap(retryFrame))
        streamContext.writeAndFlush(NIOAny(opening), promise: nil)

        let connection = SSEConnection(
            context: streamContext, topics: request.topics, format: request.format,
            heartbeatAsEvent: request.heartbeatAsEvent, replaying: request.lastEventID != nil,
            lastEventID: request.lastEventID, maxUnsentBytes: configuration.maxUnsentBytes, stats: stats)
        streamHandler.connection = connection
        let hub = gateway.hub
        let loopHub = hub.loopHub(for: streamContext.eventLoop)
        let loopIndex = loopHub.index
        loopHub.add(connection)
        connection.onClose = { closed in
            loopHub.remove(closed)
            hub.leave(closed.topics, loop: loopIndex, format: closed.format)
        }
        let joined = hub.join(request.topics, loop: loopIndex, format: request.format)
        // The opening comment is a promise to the client: every event published after it arrives on this stream.
        // So it is sent once the topics are registered on this loop and subscribed in Redis.
        var connected = ByteBuffer()
        SSEEncoder.comment("connected to \(configuration.nodeID)", into: &connected)
        let bound = NIOLoopBound(connection, eventLoop: streamContext.eventLoop)
        joined.hop(to: streamContext.eventLoop).whenSuccess { [connected] in bound.value.writeControl(connected) }
        if let lastEventID = request.lastEventID {
            hub.replay(connection, topics: request.topics, after: lastEventID, once: joined)
        }
    }

    private func preflight(_ requestHead: HTTPRequestHead, context: ChannelHandlerContext, keepAlive: Bool) {
        do {
            let headers = try gateway.cors.preflightHeaders(for: requestHead)
            respond(.noContent, "", contentType: nil, keepAlive: keepAlive, extraHeaders: headers, context: context)
        } catch {
            reject(error, context: context, keepAlive: keepAlive)
        }
    }

    // MARK: Plain responses

    private func reject(_ error: any Error, context: ChannelHandlerContext, keepAlive: Bool = false) {
        gateway.stats.rejectedRequests.add(1, ordering: .relaxed)
        if answeringStream { gateway.stats.rejectedStreamRequests.add(1, ordering: .relaxed) }
        let failure = error as? HTTPError ?? HTTPError(.internalServerError, "internal error")
        respond(failure, keepAlive: keepAlive, context: context)
    }

    private func respond(_ failure: HTTPError, keepAlive: Bool, context: ChannelHandlerContext) {
        gateway.logger.debug(
            "rejected request",
            metadata: ["http.status": "\(failure.status.code)", "http.reason": "\(failure.message)"])
        respond(
            failure.status, failure.message + "\n", contentType: "text/plain; charset=utf-8", keepAlive: keepAlive,
            extraHeaders: failure.headers, context: context)
    }

    private func respond(
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
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
        if keepAlive { armHeadTimeout(context: context) }
    }
}
