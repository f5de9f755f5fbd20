import HTTPTypes
import Hummingbird

/// `GET /engine.js`: the page's client, held in memory and served with validators and cache headers (and the same
/// for `GET /dashboard.js`).
///
/// The page asks for `/engine.js?v=<fingerprint>`; that exact URL never changes content, so it is cached for a year
/// (`immutable`). Any other URL (no `v`, an old `v`) is cached for 5 minutes. Both carry an `ETag`, and a matching
/// `If-None-Match` gets 304.
struct EngineScript: Sendable {
    let text: String
    let fingerprint: String

    init(text: String) {
        self.text = text
        fingerprint = PublisherResources.fingerprint(text)
    }

    var etag: String { "\"\(fingerprint)\"" }

    func serve(_ request: Request) -> Response {
        let current = (try? FormFields(decoding: request.uri.query ?? ""))?["v"] == fingerprint
        var headers: HTTPFields = [
            .contentType: "text/javascript; charset=utf-8",
            .cacheControl: current ? "public, max-age=31536000, immutable" : "public, max-age=300",
            .eTag: etag,
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
        if let match = request.headers[.ifNoneMatch],
            match.split(separator: ",").contains(where: { $0.filter { $0 != " " } == etag || $0 == "*" })
        {
            headers[.contentLength] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
