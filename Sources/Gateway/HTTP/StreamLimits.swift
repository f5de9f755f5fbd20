import HTTPTypes
import NIOCore
import NIOHTTP1
import ServerSupport
import Synchronization

/// The limits per client address on `GET /sse`: open streams (``GatewayConfiguration/maxStreamsPerClient``) and
/// new streams per second (``GatewayConfiguration/newStreams``), both answered with 429 and `Retry-After`.
///
/// The client is the peer, or the address a trusted proxy names (``TrustedProxies``). The tables are shared by the
/// node's event loops behind one `Mutex` each, held for a dictionary update: a stream opens once, so this is not the
/// fan-out's hot path. The open-stream table holds only addresses with open streams (an entry goes when its count
/// returns to 0), so it is bounded by the node's own `SSE_MAX_CONNECTIONS`; the rate table bounds itself
/// (``ClientRateLimiter``). A request without an IP peer (a Unix socket) is not limited.
final class StreamLimits: Sendable {
    /// Open streams per address; no entry means none.
    struct OpenStreams: Sendable, Equatable {
        private(set) var counts: [ClientAddress: Int] = [:]

        /// Counts one more stream for `address` unless it holds `limit` already (0: no limit).
        mutating func open(_ address: ClientAddress, limit: Int) -> Bool {
            let count = counts[address, default: 0]
            guard limit == 0 || count < limit else { return false }
            counts[address] = count + 1
            return true
        }

        /// One stream of `address` closed; the entry goes with its last stream.
        mutating func close(_ address: ClientAddress) {
            guard let count = counts[address] else { return }
            counts[address] = count > 1 ? count - 1 : nil
        }
    }

    /// Seconds a client refused for too many open streams is told to wait: how soon one closes is unknown, so it is
    /// the node-full answer's wait.
    static let openStreamsRetryAfter = 5

    let maxStreamsPerClient: Int
    let trustedProxies: TrustedProxies
    let newStreams: ClientRateLimiter
    private let open = Mutex(OpenStreams())
    private let stats: GatewayStats

    init(configuration: GatewayConfiguration, stats: GatewayStats) {
        maxStreamsPerClient = configuration.maxStreamsPerClient
        trustedProxies = configuration.trustedProxies
        newStreams = ClientRateLimiter(rate: configuration.newStreams)
        self.stats = stats
    }

    /// Admits a stream request of `channel`, or says why not. An admitted stream is counted against its address until
    /// the channel closes, whatever happens to the request after this (a later refusal closes the channel too).
    func admit(_ head: HTTPRequestHead, channel: any Channel, now: ContinuousClock.Instant = .now) -> HTTPFailure? {
        // Both limits off: no address to work out (it costs a string per request).
        guard maxStreamsPerClient > 0 || newStreams.rate.isLimited else { return nil }
        let peer = channel.remoteAddress?.ipAddress.flatMap { ClientAddress($0) }
        guard let address = trustedProxies.clientAddress(peer: peer, forwardedFor: head.headers["X-Forwarded-For"])
        else { return nil }
        if let refusal = newStreams.admit(address, now: now) {
            stats.newStreamsPerSecondRefusals.add(1, ordering: .relaxed)
            return HTTPFailure(
                .tooManyRequests,
                "too many new streams from \(address): at most \(Self.number(newStreams.rate.perSecond)) per second",
                headers: [.retryAfter: "\(refusal.retryAfter.retryAfterSeconds)"])
        }
        let limit = maxStreamsPerClient
        guard limit > 0 else { return nil }
        guard open.withLock({ $0.open(address, limit: limit) }) else {
            stats.streamsPerClientRefusals.add(1, ordering: .relaxed)
            return HTTPFailure(
                .tooManyRequests, "too many open streams from \(address): at most \(limit) per client",
                headers: [.retryAfter: "\(Self.openStreamsRetryAfter)"])
        }
        channel.closeFuture.whenComplete { [self] _ in open.withLock { $0.close(address) } }
        return nil
    }

    /// `20`, or `0.5`.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
