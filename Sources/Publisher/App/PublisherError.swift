import HTTPTypes
import Hummingbird
import PercentDecoding

/// An HTTP error answered with a one-line `text/plain` body that says what was wrong and what was expected, e.g.
/// `401 missing bearer token: send Authorization: Bearer <token>`.
///
/// The publisher's one HTTP error type: thrown from handlers, and made from any other failure by
/// ``PublisherAnswers``; Hummingbird's router answers it through `HTTPResponseError` (its own `HTTPError` would
/// answer JSON, and the gateway answers plain lines, so one service speaks the same way as the other). The gateway,
/// on raw SwiftNIO without Hummingbird, has the same shape in its own `HTTPError`.
struct PublisherError: HTTPResponseError, Sendable, CustomStringConvertible {
    var status: HTTPResponse.Status
    var message: String
    var headers: HTTPFields

    init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    var description: String { "\(status.code) \(message)" }

    var response: Response {
        var response = Response.plain(message, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// The answer: headers only for `HEAD` (`Content-Length` included: the length of the body a `GET` would get).
    func response(from request: Request, context: some RequestContext) -> Response {
        request.method == .head ? response.createHeadResponse() : response
    }

    /// 413 for a body over `limit` bytes.
    static func bodyTooLarge(limit: Int) -> PublisherError {
        PublisherError(.contentTooLarge, "request body too large: at most \(limit) bytes")
    }

    /// 415 for a body whose `Content-Type` is not `expected`.
    static func unsupportedContentType(_ found: String?, expected: String) -> PublisherError {
        let shown = found.map { "\(quoted($0))" } ?? "missing"
        return PublisherError(.unsupportedMediaType, "Content-Type \(shown) is not supported: send \(expected)")
    }

    /// 400 for a form body or query whose encoding is broken.
    static func malformedForm(_ error: PercentDecodingError) -> PublisherError {
        PublisherError(.badRequest, "malformed form encoding: \(error)")
    }

    /// 503 for a Redis failure, with `Retry-After`: the request may succeed once Redis is back.
    static func redisUnavailable(_ error: any Error) -> PublisherError {
        PublisherError(.serviceUnavailable, "Redis unavailable: \(oneLine("\(error)"))", headers: [.retryAfter: "1"])
    }

    /// Client input for a message: in double quotes, escaped, cut after 160 characters so it stays one line.
    static func quoted(_ value: String) -> String {
        let limit = 160
        guard value.count > limit else { return value.debugDescription }
        return String(value.prefix(limit)).debugDescription + "… (\(value.count) characters)"
    }

    /// `text` with line breaks replaced by spaces (a Redis or system message may span lines).
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}

extension Response {
    /// A one-line `text/plain` answer (a newline is added), never cached.
    static func plain(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "text/plain; charset=utf-8"
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    /// An HTML page or fragment, never cached (it shows live state).
    static func html(_ html: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "text/html; charset=utf-8"
        fields[.cacheControl] = "no-store"
        fields[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A JSON body, never cached.
    static func json(_ json: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: json + "\n")))
    }
}
