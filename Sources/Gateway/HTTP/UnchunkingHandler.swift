import NIOCore
import SSEProtocol

/// Turns a stream's chunked body back into a close-delimited one, for an HTTP/1.0 client (which cannot read chunked
/// coding). Only such streams have it in their pipeline; the frames the hub writes are chunked once for everyone.
///
/// Every write of a stream is the response head, or whole chunks (frames are chunked where they are encoded);
/// chunk payloads are passed on as slices, not copied. Without chunks the client cannot tell a finished body from a
/// broken one: an HTTP/1.0 client reconnects after every end.
///
/// Its hot stored properties are `@exclusivity(unchecked)`: they are only touched on its event loop, one access at
/// a time, so the dynamic exclusivity checks guard nothing and cost a few percent of the loop on the hot path.
final class UnchunkingHandler: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    @exclusivity(unchecked) private var headWritten = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = unwrapOutboundIn(data)
        if !headWritten {
            // The first write is the head followed by the first chunk.
            headWritten = true
            guard let end = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound else {
                context.write(data, promise: promise)
                return
            }
            let head = buffer.readSlice(length: end - buffer.readableBytesView.startIndex)!
            context.write(wrapOutboundOut(head), promise: nil)
        }
        guard let payloads = HTTPChunk.payloads(of: buffer) else {
            promise?.fail(ChannelError.inappropriateOperationForState)
            context.close(promise: nil)
            return
        }
        guard let last = payloads.last else {
            promise?.succeed(())
            return
        }
        for payload in payloads.dropLast() { context.write(wrapOutboundOut(payload), promise: nil) }
        context.write(wrapOutboundOut(last), promise: promise)
    }
}
