import NIOCore
import NIOHTTP1

/// Matches responses to the requests of an ``HTTPPublisher`` in order.
final class PublishReplyHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    var waiting = CircularBuffer<EventLoopPromise<Void>>()
    private var status: HTTPResponseStatus?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body:
            break
        case .end:
            guard let promise = waiting.popFirst() else { return }
            if let status, (200..<300).contains(status.code) {
                promise.succeed(())
            } else {
                promise.fail(LoadError("publish answered \(status.map { "\($0.code)" } ?? "nothing")"))
            }
            status = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let promise = waiting.popFirst() { promise.fail(LoadError("publisher connection closed")) }
        context.fireChannelInactive()
    }
}
