import HTTPTypes
import Hummingbird
import Logging
import SSEProtocol
import ServerSupport

extension BoardController {
    /// `POST /token`: a fresh token cookie for the visitor of the request's `sse_visitor` cookie (engine.js asks
    /// when the gateway ended its stream at the token's expiry, or could not open it), 204 with both cookies.
    ///
    /// Refused like a cross-site post (``CrossSitePolicy``, 403), so another site cannot make a browser refresh
    /// the cookie, and limited to ``tokenRefreshesPerMinute`` per client address (a page asks once per token
    /// lifetime, or after its stream failed; a 429 only delays its reconnect). A request without a valid visitor cookie gets a new
    /// visitor (its page, which follows the old id's topic, must be reloaded to follow the new one). Without a
    /// signing key there are no visitor tokens: 404.
    func refreshToken(_ request: Request, context: PublisherRequestContext) async throws -> Response {
        guard let visitors else {
            throw PublisherError(.notFound, "visitor tokens are off: the publisher has no SSE_TOKEN_SIGNING_KEY")
        }
        try crossSite.check(request)
        if let refusal = tokenRate.admit(request, context: context) {
            throw PublisherError(.tooManyRequests, refusal.message, headers: refusal.headers)
        }
        var headers = try visitors.cookies(
            for: visitors.visitor(of: request) ?? .random(), secure: visitors.isSecure(request, context: context))
        headers[.cacheControl] = "no-store"
        return Response(status: .noContent, headers: headers)
    }

    /// Tells the poster alone, on their private topic, that their post is on the board. The post is already
    /// stored and published, so a failure here is logged, not answered.
    func tellPoster(_ visitor: Visitor, post: Post) async {
        do {
            let id = try await publisher.publish(BoardPatches.posterNotice(for: post), on: visitor.topic)
            logger.debug("poster told", metadata: ["board.version": "\(post.version)", "sse.event_id": "\(id)"])
        } catch {
            logger.warning(
                "post published but its poster was not told",
                metadata: ["board.version": "\(post.version)", "error": "\(error)"])
        }
    }
}
