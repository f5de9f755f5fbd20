import NIOHTTP1

/// Which browser origins may open streams. A request without `Origin` (same-origin or not a browser) always passes.
struct CORSPolicy: Sendable {
    let allowAny: Bool
    let origins: Set<String>

    init(allowedOrigins: [String]) {
        allowAny = allowedOrigins.contains("*")
        origins = Set(allowedOrigins.filter { $0 != "*" })
    }

    /// The response headers for an allowed request; throws 403 for an origin not on the list.
    func headers(for head: HTTPRequestHead) throws(HTTPError) -> [(String, String)] {
        guard let origin = head.headers.first(name: "Origin") else { return [] }
        if allowAny { return [("Access-Control-Allow-Origin", "*")] }
        guard origins.contains(origin) else {
            throw HTTPError(.forbidden, "origin \"\(origin)\" is not allowed: add it to SSE_ALLOWED_ORIGINS")
        }
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    }
}
