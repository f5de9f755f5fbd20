import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1 channel with ``RequestGuard`` added between NIO's decoder and Hummingbird's codec, where
/// the request's version and every `Host` header are still visible (Hummingbird's own extra handlers go after the
/// codec, which keeps one `Host` as the authority and drops the version).
struct PublisherHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let deadline: TimeAmount
    let maximumBodyBytes: Int

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let deadline = deadline
        let maximumBodyBytes = maximumBodyBytes
        return http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let requestGuard = RequestGuard(deadline: deadline, maximumBodyBytes: maximumBodyBytes)
            try pipeline.addHandler(requestGuard, position: .after(decoder))
            try pipeline.addHandler(RequestStart(requestGuard), position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// Largest request head, as the gateway's default `SSE_MAX_HEADER_BYTES`: far above any browser's, and it
    /// bounds what a connection can make the process hold before a request is even routed.
    static let maximumHeaderBytes = 16 * 1024

    /// HTTP/1 with the publisher's request deadline, body bound and `Host` rule (``RequestGuard``), and heads of at
    /// most ``maximumHeaderBytes`` in at most 100 fields (more is refused by the decoder: 400 or a close).
    static func guardedHTTP1(idleTimeout: TimeAmount, deadline: TimeAmount, maximumBodyBytes: Int) -> HTTPServerBuilder
    {
        HTTPServerBuilder { responder in
            PublisherHTTPChannel(
                http1: HTTP1Channel(
                    responder: responder,
                    configuration: .init(
                        idleTimeout: idleTimeout,
                        httpDecoderConfiguration: .init(
                            maxHeaderFieldSize: maximumHeaderBytes, maxHeaderListSize: maximumHeaderBytes,
                            maxHeaderFieldCount: 100))),
                deadline: deadline, maximumBodyBytes: maximumBodyBytes)
        }
    }
}
