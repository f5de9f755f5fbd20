import NIOCore

/// The whole pipeline of an open stream besides the socket: once `GET /sse` is answered, the HTTP decoder and
/// router leave the channel and this handler takes their place next to the socket.
///
/// A stream's client has nothing more to say, so what it sends is dropped unread; the handler's job is to end the
/// ``SSEConnection`` when the socket closes or fails. Each frame the hub writes passes one handler (this one) on
/// its way to the socket, and a stream holds no HTTP parser state.
final class SSEStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// Set right after the handler is added; cleared when the channel goes away (breaking the connection's
    /// reference to this handler's context).
    var connection: SSEConnection?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelInactive(context: ChannelHandlerContext) {
        connection?.channelClosed()
        connection = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or failed read: the stream is over (the close ends the connection through channelInactive).
        context.close(promise: nil)
    }
}
