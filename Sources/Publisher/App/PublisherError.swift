import HTTPTypes
import Hummingbird
import PercentDecoding
import ServerSupport

/// The publisher's name for ``HTTPFailure``, the services' one HTTP error type: thrown from handlers, made from any
/// other failure by ``PublisherAnswers``, and answered by Hummingbird's router through `HTTPResponseError` (its own
/// `HTTPError` would answer JSON; both services answer one plain line).
typealias PublisherError = HTTPFailure

extension HTTPFailure: HTTPResponseError {
    var response: Response {
        var response = Response.plain(message, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// The answer: headers only for `HEAD` (`Content-Length` included: the length of the body a `GET` would get).
    public func response(from request: Request, context: some RequestContext) -> Response {
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
