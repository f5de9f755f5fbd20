import NIOCore
import NIOHTTP1
import NIOPosix

/// Publishes by `POST`ing each event's payload to a URL (nchan's publisher location) over one keep-alive
/// connection, pipelining requests so that order is kept and no round trip is waited for between events.
///
/// Every request is written at once; one flush per loop tick sends those written in the same tick together. A
/// reply other than 2xx fails that event.
final class HTTPPublisher {
    let channel: any Channel
    private let target: StreamTarget
    private let replies: PublishReplyHandler
    private var flushScheduled = false

    private init(channel: any Channel, target: StreamTarget, replies: PublishReplyHandler) {
        self.channel = channel
        self.target = target
        self.replies = replies
    }

    /// Connects on `loop`; use the publisher on that loop only.
    static func connect(url: String, on loop: any EventLoop) async throws -> NIOLoopBound<HTTPPublisher> {
        let target = try StreamTarget(url: url)
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(PublishReplyHandler())
                }
            }
            .connect(to: target.address).get()
        return try await loop.submit {
            let replies = try channel.pipeline.syncOperations.handler(type: PublishReplyHandler.self)
            return NIOLoopBound(HTTPPublisher(channel: channel, target: target, replies: replies), eventLoop: loop)
        }.get()
    }

    /// `pathSuffix` is appended to the URL's path (its last segment is the channel), to publish to several.
    func send(_ payload: [UInt8], pathSuffix: String = "") -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        replies.waiting.append(promise)
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.target + pathSuffix)
        head.headers.add(name: "Host", value: target.authority)
        head.headers.add(name: "Content-Type", value: "text/plain")
        head.headers.add(name: "Content-Length", value: String(payload.count))
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: payload))), promise: nil)
        channel.write(HTTPClientRequestPart.end(nil), promise: nil)
        if !flushScheduled {
            flushScheduled = true
            channel.eventLoop.assumeIsolated().execute { [self] in
                flushScheduled = false
                channel.flush()
            }
        }
        return promise.futureResult
    }
}
