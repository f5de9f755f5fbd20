import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import SSEAuth
import SSEProtocol
import ServerSupport
import Synchronization

extension GatewayHTTPHandler {
    // MARK: Streams

    func openStream(_ requestHead: HTTPRequestHead, query: QueryString, context: ChannelHandlerContext) {
        let configuration = gateway.configuration
        let stats = gateway.stats
        let cors: CORSPolicy.Verdict
        let request: StreamRequest
        let resume: StreamResume?
        let format: StreamFormat
        let access: StreamAuthorizer.Access
        let now = Date()
        let idsPerTopic = gateway.idsPerTopic
        do {
            cors = try gateway.cors.verdict(for: requestHead)
            request = try StreamRequest(
                head: requestHead, query: query, maxTopics: configuration.maxTopicsPerConnection)
            resume = try request.resume(idsPerTopic: idsPerTopic)
            format = request.format(idsPerTopic: idsPerTopic)
            if format.positioned {
                do {
                    _ = try SSEProtocol.StreamPosition(
                        Dictionary(
                            uniqueKeysWithValues: request.topics.map { ($0, EventID(milliseconds: 0, sequence: 0)) }))
                } catch {
                    throw HTTPFailure(.badRequest, "\(error)")
                }
            }
        } catch {
            reject(error, context: context)
            return
        }
        if let reason = gateway.refusalReason {
            reject(
                HTTPFailure(.serviceUnavailable, "node not ready: \(reason)", headers: [.retryAfter: "2"]),
                context: context)
            return
        }
        if let refusal = gateway.streamLimits.admit(requestHead, channel: context.channel) {
            reject(refusal, context: context)
            return
        }
        // After the limits, which are cheap: a flood of bad tokens from one address costs no verifications.
        do {
            access = try gateway.authorizer.authorize(
                request.topics, head: requestHead, query: query, cors: cors, now: now)
        } catch {
            stats.auth.refused(error.reason)
            // With the CORS headers, so that a page on an allowed origin can read why.
            var failure = error.failure
            for (name, value) in cors.headers { if let field = HTTPField.Name(name) { failure.headers[field] = value } }
            reject(failure, context: context)
            return
        }
        // Reserve a slot atomically: concurrent accepts on other loops cannot overshoot the limit.
        let (_, active) = stats.activeConnections.add(1, ordering: .relaxed)
        if active > configuration.maxConnections {
            stats.activeConnections.subtract(1, ordering: .relaxed)
            reject(
                HTTPFailure(
                    .serviceUnavailable, "node at its limit of \(configuration.maxConnections) streams",
                    headers: [.retryAfter: "5"]), context: context)
            return
        }
        stats.connectionsTotal.add(1, ordering: .relaxed)

        // From here on the response is a raw event stream, and the channel's pipeline is the socket and the
        // SSEStream (behind an UnchunkingHandler for HTTP/1.0): the HTTP encoder, decoder and this router
        // leave it.
        let chunked = requestHead.version.major > 1 || requestHead.version.minor >= 1
        let operations = context.pipeline.syncOperations
        let loopHub = gateway.fanout.loopHub(on: context.eventLoop)
        let stream = SSEStream(
            topics: request.topics, format: format, heartbeatAsEvent: request.heartbeatAsEvent,
            lastEventID: request.lastEventID, loopHub: loopHub, maxUnsentBytes: configuration.maxUnsentBytes,
            // A positioned stream parks live frames until its position is seeded (``LoopHub/open(_:resume:)``).
            stats: stats, replaying: resume != nil || format.positioned)
        let streamContext: ChannelHandlerContext
        do {
            try operations.addHandler(stream, position: .first)
            if !chunked { try operations.addHandler(UnchunkingHandler(), position: .first) }
            streamContext = try operations.context(handler: stream)
        } catch {
            stats.activeConnections.subtract(1, ordering: .relaxed)
            context.close(promise: nil)
            return
        }
        operations.removeHandler(responseEncoder, promise: nil)
        operations.removeHandler(requestDecoder, promise: nil)
        operations.removeHandler(context: context, promise: nil)
        // One read per wake-up from here on: the channel's pool of receive buffers shrinks to one, so the buffers
        // a long request head took are freed instead of held for the life of the stream.
        try? streamContext.channel.syncOptions?.setOption(.maxMessagesPerRead, value: 1)

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
        if case .token(let token) = access {
            stats.auth.authorizedStreams.add(1, ordering: .relaxed)
            stream.grant = StreamGrant(token: token)
            let delay = gateway.authorizer.streamDeadline(for: token, now: now)
            stream.expire(after: TimeAmount(delay), expiresAt: token.expiresAt)
        }
        loopHub.open(stream, resume: resume)
        gateway.trackPresence(of: request.topics, access: access, channel: streamContext.channel)
    }

    func preflight(_ requestHead: HTTPRequestHead, context: ChannelHandlerContext, keepAlive: Bool) {
        do {
            let headers = try gateway.cors.preflightHeaders(for: requestHead)
            respond(.noContent, "", contentType: nil, keepAlive: keepAlive, extraHeaders: headers, context: context)
        } catch {
            reject(error, context: context, keepAlive: keepAlive)
        }
    }
}
