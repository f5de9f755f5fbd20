import Hummingbird
import NIOCore

/// The publisher's request context: Hummingbird's basic one plus the connection's peer, which the limit per client
/// on `/add_post` counts against (``PostRateLimit``).
///
/// Hummingbird's `BasicRequestContext` keeps nothing of the connection; this one keeps the peer's address, read once
/// when the request's context is made (`RemoteAddressRequestContext`, which Hummingbird's tracing middleware reads
/// too). In the in-process tests the channel is a test channel without an address: such a request is not limited.
struct PublisherRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
