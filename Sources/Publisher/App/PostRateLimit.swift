import HTTPTypes
import Hummingbird
import NIOCore
import SSEHistory
import ServerSupport
import Synchronization

/// The limit per client address on `POST /add_post` (``PublisherConfiguration/postRate``): a token bucket per
/// address, shared by every connection of the process, bounded in memory (``ClientRateLimiter``).
///
/// The client is the peer, or the address a trusted proxy names in `X-Forwarded-For` (``TrustedProxies``): behind
/// nginx every post comes from nginx, so without `--trusted-proxy` all visitors would share one budget. A request
/// without an IP peer is not limited.
final class PostRateLimit: Sendable {
    let limiter: ClientRateLimiter
    let trustedProxies: TrustedProxies
    /// What is counted, plural, for the message (`posts`, `token requests`).
    let what: String
    /// The limit's name in `GET /metrics` (`sse_publisher_limit_refusals_total{limit="post_rate"}`).
    let label: String
    /// Requests refused so far.
    let refusals: Atomic<Int>

    init(rate: TokenBucket.Rate, trustedProxies: TrustedProxies, what: String = "posts", label: String = "post_rate") {
        limiter = ClientRateLimiter(rate: rate)
        self.trustedProxies = trustedProxies
        self.what = what
        self.label = label
        refusals = Atomic(0)
    }

    /// Why a post is refused: the one-line message and the seconds to wait.
    struct Refusal: Sendable, Equatable {
        var message: String
        var retryAfterSeconds: Int

        var headers: HTTPFields { [.retryAfter: "\(retryAfterSeconds)"] }
    }

    /// Takes a post from the request's client, or says why it must wait.
    func admit(_ request: Request, context: PublisherRequestContext, now: ContinuousClock.Instant = .now) -> Refusal? {
        let peer = context.remoteAddress?.ipAddress.flatMap { ClientAddress($0) }
        let forwarded = request.headers[values: HTTPField.Name("X-Forwarded-For")!]
        guard let address = trustedProxies.clientAddress(peer: peer, forwardedFor: forwarded),
            let refusal = limiter.admit(address, now: now)
        else { return nil }
        refusals.add(1, ordering: .relaxed)
        let perMinute = (limiter.rate.perSecond * 60 * 1000).rounded() / 1000
        let shown = perMinute == perMinute.rounded() ? String(Int(perMinute)) : String(perMinute)
        let wait = refusal.retryAfter.retryAfterSeconds
        return Refusal(
            message: "too many \(what) from \(address): at most \(shown) per minute; try again in \(wait) s",
            retryAfterSeconds: wait)
    }

    /// `GET /metrics`: the publisher's own counters in Prometheus text, one line per limit, and the acknowledged
    /// events found lost after a failover (``AcknowledgementWatch``); the gateway's figures are on the nodes.
    static func metrics(_ limits: [PostRateLimit], acknowledged: AcknowledgedEvents? = nil)
        -> @Sendable (Request) async throws -> Response
    {
        { _ in
            var text =
                "# HELP sse_publisher_limit_refusals_total Requests refused with 429 by a limit per client address.\n"
                + "# TYPE sse_publisher_limit_refusals_total counter\n"
            for limit in limits {
                text +=
                    "sse_publisher_limit_refusals_total{limit=\"\(limit.label)\"} "
                    + "\(limit.refusals.load(ordering: .relaxed))\n"
            }
            if let acknowledged {
                text +=
                    "# HELP sse_publisher_lost_events_total Acknowledged events found lost after a Redis failover "
                    + "(each marked with a resync event on its topic).\n"
                    + "# TYPE sse_publisher_lost_events_total counter\n"
                    + "sse_publisher_lost_events_total \(acknowledged.lostFound)\n"
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
