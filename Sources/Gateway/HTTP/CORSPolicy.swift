import HTTPTypes
import NIOHTTP1
import ServerSupport

/// Which browser origins may open streams, and what the answers tell the browser (the CORS protocol).
///
/// Every allowed answer to a request with `Origin` echoes that origin with `Access-Control-Allow-Credentials: true`
/// and `Vary: Origin`: real clients send credentials (htmx's SSE extension always opens
/// `EventSource(url, {withCredentials: true})`, Datastar's `fetch` may use `credentials: 'include'`), and a browser
/// discards a credentialed answer that carries `*` or lacks the credentials header.
///
/// With `*` in the list any origin may open streams, but only listed origins are **trusted with cookies**: a stream
/// that a cookie would authorize (private topics) is never opened for an origin that is not listed explicitly, so
/// a page on an unknown site cannot read a visitor's private stream through their cookie. A request without
/// `Origin` (same-origin `EventSource`/`fetch` GETs, curl, servers) always passes and is trusted.
struct CORSPolicy: Sendable {
    /// What the gateway concluded about one request's origin.
    struct Verdict {
        /// Headers for the answer (empty without `Origin`).
        var headers: [(String, String)]
        /// The request may be authorized by a cookie: no `Origin`, or an origin listed explicitly.
        var cookiesTrusted: Bool
    }

    /// Request headers a preflight always allows: those `EventSource`, Datastar, htmx and `fetch`-based readers
    /// send on a stream request.
    static let standardHeaders = [
        "Last-Event-ID", "Cache-Control", "Content-Type", "Datastar-Request", "Authorization",
    ]

    let allowAny: Bool
    let origins: Set<String>
    /// The `Access-Control-Allow-Headers` value of a preflight answer.
    let allowedHeaders: String

    init(allowedOrigins: [String], allowedHeaders extra: [String] = []) {
        allowAny = allowedOrigins.contains("*")
        origins = Set(allowedOrigins.filter { $0 != "*" })
        var names = Self.standardHeaders
        for name in extra where !names.contains(where: { $0.lowercased() == name.lowercased() }) { names.append(name) }
        allowedHeaders = names.joined(separator: ", ")
    }

    /// The verdict for a request; throws 403 for an origin that is not allowed.
    func verdict(for head: HTTPRequestHead) throws(HTTPFailure) -> Verdict {
        guard let origin = head.headers.first(name: "Origin") else { return Verdict(headers: [], cookiesTrusted: true) }
        let listed = origins.contains(origin)
        guard listed || allowAny else {
            throw HTTPFailure(
                .forbidden, "origin \(Self.quoted(origin)) is not allowed: add it to SSE_ALLOWED_ORIGINS")
        }
        return Verdict(
            headers: [
                ("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"),
                ("Vary", "Origin"),
            ],
            cookiesTrusted: listed)
    }

    /// The answer headers of a preflight (`OPTIONS /sse`) from an allowed origin.
    func preflightHeaders(for head: HTTPRequestHead) throws(HTTPFailure) -> [(String, String)] {
        try verdict(for: head).headers + [
            ("Access-Control-Allow-Methods", "GET"), ("Access-Control-Allow-Headers", allowedHeaders),
            ("Access-Control-Max-Age", "600"),
        ]
    }

    /// An origin as it may appear in a one-line error (control characters escaped, at most 200 characters).
    private static func quoted(_ origin: String) -> String {
        let clipped = origin.count > 200 ? String(origin.prefix(200)) + "…" : origin
        return "\"" + clipped.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0) }.joined()
            + "\""
    }
}
