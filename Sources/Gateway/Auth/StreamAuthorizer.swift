import Foundation
import HTTPTypes
import NIOHTTP1
import SSEAuth
import SSEProtocol
import ServerSupport

/// Decides, once per stream request and before anything is read from Redis, whether the request may read every
/// topic it names: all or nothing. Public topics need nothing; a private one needs a token that verifies, is not
/// revoked and grants it. A stream's replay reads only the topics of its request, so a `Last-Event-ID` never
/// reaches beyond what was granted here.
///
/// The token is taken from, in this order: `Authorization: Bearer` (fetch-based clients), the token cookie (only
/// when ``CORSPolicy/Verdict/cookiesTrusted``: no `Origin`, or an origin listed by name), and `access_token` in
/// the query (only when turned on). Runs on the request's event loop: verification is synchronous.
struct StreamAuthorizer: Sendable {
    /// Nil without keys: every topic is public.
    let verifier: TokenVerifier?
    let publicTopics: TopicPatterns
    let cookie: String
    let tokenInQuery: Bool
    let expirySpread: Duration
    let revocations = Revocations()

    /// What a request was allowed.
    enum Access {
        /// Only public topics: no token was needed (one sent is not read).
        case open
        /// Private topics, granted by this token: the stream ends at its expiry and with its revocation.
        case token(AccessToken)
    }

    /// A refused request: its answer, and the reason label it is counted under (``AuthStats``).
    struct Refusal: Error {
        var failure: HTTPFailure
        var reason: String
    }

    func authorize(
        _ topics: [Topic], head: HTTPRequestHead, query: QueryString, cors: CORSPolicy.Verdict, now: Date
    ) throws(Refusal) -> Access {
        guard let verifier else { return .open }
        let privateTopics = topics.filter { !publicTopics.matches($0) }
        guard !privateTopics.isEmpty else { return .open }
        let raw = try token(head: head, query: query, cookiesTrusted: cors.cookiesTrusted)
        let token: AccessToken
        do {
            token = try verifier.verify(raw, now: now)
        } catch {
            throw Self.invalid(error)
        }
        // A token inside the leeway after its `exp` verifies, but a stream of it would end at once: refused.
        if token.expiresAt <= now { throw Self.invalid(.expired) }
        if revocations.isRevoked(token, topics: privateTopics, now: now) { throw Self.invalid(.revoked) }
        if let topic = token.grants.subscribe.firstUnmatched(in: privateTopics) {
            throw Refusal(
                failure: HTTPFailure(
                    .forbidden, "topic \(HTTPFailure.quoted(topic.name)) is not granted by the token",
                    headers: [.wwwAuthenticate: #"Bearer realm="sse", error="insufficient_scope""#]),
                reason: "not_granted")
        }
        return .token(token)
    }

    /// The deadline at which a stream of `token` ends: its `exp`, moved earlier by a random amount up to the spread
    /// and up to a tenth of the time left, so that streams of tokens minted together do not all end together.
    func streamDeadline(for token: AccessToken, now: Date) -> Duration {
        let left = max(0, token.expiresAt.timeIntervalSince(now))
        let spread = min(Double(expirySpread.components.seconds), left / 10)
        let early = spread > 0 ? Double.random(in: 0...spread) : 0
        return .milliseconds(Int64(((left - early) * 1000).rounded(.down)))
    }

    // MARK: Finding the token

    private func token(head: HTTPRequestHead, query: QueryString, cookiesTrusted: Bool) throws(Refusal) -> String {
        if let header = head.headers.first(name: "Authorization") {
            let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw Self.invalid(.malformed("the Authorization header is not \"Bearer <token>\""))
            }
            return String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        let cookieValue = Self.cookie(named: cookie, in: head.headers)
        if let cookieValue, cookiesTrusted { return cookieValue }
        if let value = query.first("access_token") {
            guard tokenInQuery else {
                throw missing(
                    "access_token in the URL is turned off (SSE_TOKEN_IN_QUERY): send an Authorization: Bearer header"
                        + " or the \(cookie) cookie")
            }
            return value
        }
        if cookieValue != nil, let origin = head.headers.first(name: "Origin") {
            throw missing(
                "the \(cookie) cookie is not read for origin \(HTTPFailure.quoted(origin)), which is not listed by name"
                    + " in SSE_ALLOWED_ORIGINS: send an Authorization: Bearer header")
        }
        throw missing(
            "missing token: send an Authorization: Bearer header or the \(cookie) cookie"
                + (tokenInQuery ? ", or access_token in the URL" : ""))
    }

    /// The value of the first cookie named `name` in the request's `Cookie` headers (RFC 6265 §5.4).
    static func cookie(named name: String, in headers: HTTPHeaders) -> String? {
        for header in headers[canonicalForm: "Cookie"] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard trimmed.hasPrefix(name), trimmed.dropFirst(name.count).first == "=" else { continue }
                var value = trimmed.dropFirst(name.count + 1)
                if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
                return String(value)
            }
        }
        return nil
    }

    // MARK: Answers

    /// 401 without a token: RFC 6750 §3.1 says such an answer carries no error code.
    private func missing(_ message: String) -> Refusal {
        Refusal(
            failure: HTTPFailure(.unauthorized, message, headers: [.wwwAuthenticate: #"Bearer realm="sse""#]),
            reason: "missing")
    }

    /// 401 for a token that was refused, with `error="invalid_token"` and the reason (RFC 6750 §3).
    static func invalid(_ rejection: TokenRejection) -> Refusal {
        let description = rejection.description
        // A quoted-string of the header (RFC 9110 §5.6.4) without quotes, backslashes or control characters.
        let quoted = String(description.filter { $0 != "\"" && $0 != "\\" && !$0.isNewline && $0.isASCII })
        return Refusal(
            failure: HTTPFailure(
                .unauthorized, description,
                headers: [
                    .wwwAuthenticate:
                        #"Bearer realm="sse", error="invalid_token", error_description=""# + quoted + "\""
                ]),
            reason: rejection.reason)
    }
}
