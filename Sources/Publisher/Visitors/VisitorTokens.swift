import Foundation
import HTTPTypes
import Hummingbird
import SSEAuth
import SSEProtocol
import ServerSupport

/// The demo's private topics: each visitor's cookie pair and the token that lets their page read `visitor.<id>`.
///
/// A page load (`GET /`) and `POST /token` set two cookies, both `HttpOnly` (no script reads them), `SameSite=Lax`
/// (another site's subrequests do not carry them), `Path=/`, and `Secure` when the request came over HTTPS:
///
/// - `sse_visitor`: the visitor id (``Visitor``), kept for a year, so a visitor keeps their topic across visits;
/// - the token cookie (`sse_token`, the gateway's `SSE_TOKEN_COOKIE`): a JWT with `sub` = the visitor id, a random
///   `jti`, and the grants `subscribe: ["board", "visitor.<id>"]`, valid for ``lifetimeSeconds`` (its `Max-Age`
///   too). The gateway reads it on the page's same-origin `EventSource` and ends the stream at its `exp`;
///   engine.js then asks `POST /token` for a new one and resumes.
///
/// Tokens and ids are never logged.
struct VisitorTokens: Sendable {
    /// The cookie holding the visitor id.
    static let visitorCookie = "sse_visitor"
    /// A year: the id outlives many tokens, so a returning visitor keeps their topic.
    static let visitorCookieMaxAge = 365 * 86400
    /// Where engine.js asks for a fresh token (the page's `data-token-url`).
    static let refreshPath = "/token"

    let minter: TokenMinter
    /// Whole seconds, at least 1.
    let lifetimeSeconds: Int
    /// The token cookie's name.
    let cookie: String
    let issuer: String?
    let audience: String?
    /// Whose `X-Forwarded-Proto` is believed when deciding on `Secure`.
    let trustedProxies: TrustedProxies

    /// The visitor whose id the request's cookie holds; nil without one or with a malformed one.
    func visitor(of request: Request) -> Visitor? {
        request.cookies[Self.visitorCookie].flatMap { Visitor(id: $0.value) }
    }

    /// What a visitor's token grants: the public board and their own topic, nothing else.
    func grants(for visitor: Visitor) throws -> Grants {
        Grants(subscribe: try TopicPatterns(validating: [BoardLibrary.topic.name, visitor.topic.name]))
    }

    /// A fresh token for `visitor`: a new `jti` every time, so one token can be revoked without the others.
    func token(for visitor: Visitor, now: Date = Date()) throws -> String {
        try minter.mint(
            subject: visitor.id, grants: try grants(for: visitor), lifetime: .seconds(lifetimeSeconds),
            tokenID: Visitor.randomHex(), issuer: issuer, audience: audience, now: now)
    }

    /// The two `Set-Cookie` fields for `visitor`: the id, then a fresh token.
    func cookies(for visitor: Visitor, secure: Bool, now: Date = Date()) throws -> HTTPFields {
        let attributes = "; Path=/; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
        var fields = HTTPFields()
        fields.append(
            HTTPField(
                name: .setCookie,
                value: "\(Self.visitorCookie)=\(visitor.id); Max-Age=\(Self.visitorCookieMaxAge)\(attributes)"))
        fields.append(
            HTTPField(
                name: .setCookie,
                value: "\(cookie)=\(try token(for: visitor, now: now)); Max-Age=\(lifetimeSeconds)\(attributes)"))
        return fields
    }

    /// Whether the browser reached us over HTTPS: the request's own scheme, or `X-Forwarded-Proto: https` from a
    /// trusted proxy (TLS ends at nginx, which sets it). A cookie marked `Secure` on plain HTTP would be dropped by
    /// the browser, so it is marked only then.
    func isSecure(_ request: Request, context: PublisherRequestContext) -> Bool {
        if request.head.scheme?.lowercased() == "https" { return true }
        guard let peer = context.remoteAddress?.ipAddress.flatMap({ ClientAddress($0) }), trustedProxies.contains(peer)
        else { return false }
        let forwarded = request.headers[values: HTTPField.Name("X-Forwarded-Proto")!]
        let last = forwarded.last?.split(separator: ",").last?.trimmingCharacters(in: .whitespaces)
        return last?.lowercased() == "https"
    }

    /// Whether `name` is a valid cookie name (an RFC 9110 token).
    static func isCookieName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                default:
                    "!#$%&'*+-.^_`|~".utf8.contains(byte)
                }
            }
    }
}
