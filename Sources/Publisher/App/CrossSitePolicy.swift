import Foundation
import HTTPTypes
import Hummingbird
import ServerSupport

/// Refuses form posts another site makes a browser send (cross-site request forgery), before they change anything.
///
/// The board has no sessions, but a page elsewhere could still make every visitor's browser post to it. Browsers
/// say where a post comes from, and this is checked in order:
///
/// 1. `Sec-Fetch-Site: cross-site`: refused (the browser itself says so; `same-origin`, `same-site` and `none`
///    go on to the next checks).
/// 2. `Origin`: must be this site's own origin or one of ``PublisherConfiguration/publicOrigins``. The own origin
///    is the request's `Host` with `http` or `https` (behind nginx, which forwards the browser's `Host`, that is
///    the public name; TLS may end at nginx, so both schemes count). `Origin: null` (a sandboxed or opaque page)
///    is refused.
/// 3. Without `Origin`, `Referer`: its origin must match the same way.
/// 4. Neither header (curl, scripts, servers): accepted; forgery needs a browser, and browsers send `Origin` with
///    every cross-origin `POST`.
///
/// A refusal is `403` with one line saying which header did not match.
struct CrossSitePolicy: Sendable {
    /// Extra origins accepted besides the request's own, normalised (``normalised(_:)``).
    let publicOrigins: Set<String>

    init(publicOrigins: [String]) {
        self.publicOrigins = Set(publicOrigins.compactMap(Self.normalised))
    }

    /// Throws the 403 for a cross-site post.
    func check(_ request: Request) throws {
        if request.header("Sec-Fetch-Site")?.lowercased() == "cross-site" {
            throw PublisherError(
                .forbidden, "cross-site post refused: the browser marked it Sec-Fetch-Site: cross-site")
        }
        let own = request.head.authority.flatMap { Self.normalised("http://" + $0) }
        let expected =
            "expected " + (own.map { "\($0) or an origin in SSE_PUBLIC_ORIGINS" } ?? "an origin in SSE_PUBLIC_ORIGINS")
        if let origin = request.headers[.origin] {
            guard accepts(origin, host: request.head.authority) else {
                throw PublisherError(
                    .forbidden,
                    "cross-site post refused: Origin \(PublisherError.quoted(origin)) is not this site (\(expected))")
            }
        } else if let referer = request.headers[.referer] {
            guard accepts(referer, host: request.head.authority) else {
                throw PublisherError(
                    .forbidden,
                    "cross-site post refused: Referer \(PublisherError.quoted(referer)) is not from this site "
                        + "(\(expected))")
            }
        }
    }

    /// Whether the origin of `url` (an `Origin` value or a `Referer` URL) is this site's.
    func accepts(_ url: String, host: String?) -> Bool {
        guard let origin = Self.normalised(url) else { return false }
        if publicOrigins.contains(origin) { return true }
        guard let host else { return false }
        return origin == Self.normalised("http://" + host) || origin == Self.normalised("https://" + host)
    }

    /// `scheme://host[:port]` of an http(s) URL, lowercased, without a default port (`:80`, `:443`), without
    /// path, query or fragment; nil for anything else (`null`, another scheme, no host, user info).
    static func normalised(_ url: String) -> String? {
        guard let separator = url.range(of: "://") else { return nil }
        let scheme = url[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var authority = url[separator.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }.lowercased()
        guard !authority.isEmpty, !authority.contains("@"), !authority.contains(where: \.isWhitespace) else {
            return nil
        }
        if scheme == "http", authority.hasSuffix(":80") { authority.removeLast(3) }
        if scheme == "https", authority.hasSuffix(":443") { authority.removeLast(4) }
        return scheme + "://" + authority
    }

    /// Whether `origin` is a valid setting value: exactly `scheme://host[:port]` (a trailing `/` is tolerated).
    static func isValidSetting(_ origin: String) -> Bool {
        guard let normalised = normalised(origin), let separator = origin.range(of: "://") else { return false }
        let rest = origin[separator.upperBound...]
        let path = rest.drop { $0 != "/" && $0 != "?" && $0 != "#" }
        return (path.isEmpty || path == "/") && !normalised.hasSuffix(":")
    }
}
