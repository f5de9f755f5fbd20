public import HTTPTypes

/// The one HTTP error type of both services: a status, a one-line message that says what was wrong and what was
/// expected, and any headers the answer needs (`Retry-After`, `Allow`), answered as a `text/plain` body, e.g.
/// `400 too many topics: 40 given, at most 32 per stream`.
///
/// The gateway (raw SwiftNIO) writes it itself; the publisher answers it through Hummingbird's `HTTPResponseError`
/// (`PublisherError` there is this type, with the publisher's own constructors).
public struct HTTPFailure: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// One line, no line break: the body is the message and a newline.
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    /// Client input for a message: in double quotes, escaped, cut after 160 characters so it stays one line.
    public static func quoted(_ value: String) -> String {
        let limit = 160
        guard value.count > limit else { return value.debugDescription }
        return String(value.prefix(limit)).debugDescription + "… (\(value.count) characters)"
    }

    /// `text` with line breaks replaced by spaces (a Redis or system message may span lines).
    public static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
