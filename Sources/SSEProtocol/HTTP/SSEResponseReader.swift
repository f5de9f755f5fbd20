import NIOCore

/// An HTTP/1.1 response carrying an event stream, read from the bytes as they arrive: the head and status
/// (``HTTPResponseFramer``), the body with chunked coding removed, and the body's events, comments and `retry:`
/// hints (``SSEDecoder``).
///
/// The one reader of the package's raw stream clients (the test client, `ssectl tail` and the load generator), so
/// that all take a response apart the same way: a chunked body that ended with its last chunk (``isComplete``) is
/// told from one whose connection just stopped, and a malformed response is reported once, after which nothing more
/// is read.
///
/// Two ways to read, one per reader: ``read(_:)`` keeps the body and returns parsed events as Strings (tests and
/// `tail`, where clarity beats speed), while ``scan(_:_:)`` hands on each line's bytes without keeping or copying
/// them (the load generator, which reads 20,000 streams per process and must not cost more per event than the server
/// it measures).
public struct SSEResponseReader: Sendable {
    var framer = HTTPResponseFramer()
    private var decoder = SSEDecoder()
    /// The line state of ``scan(_:_:)`` (unused by ``read(_:)``).
    var lines = LineScanner()
    /// The body with any chunked coding removed, kept whole (test clients and error answers are small).
    public private(set) var body: [UInt8] = []
    /// Why the bytes are not a well-formed HTTP/1.x response (with the offset where that was found), if so.
    public internal(set) var malformed: String?
    /// Bytes read so far, head included.
    public internal(set) var bytesRead = 0

    public init() {}

    /// The response status once the head is complete.
    public var status: Int? { framer.status }
    /// The head's text (status line and header lines, without the blank line) once complete.
    public var headText: String? { framer.headText }
    /// The body is chunked (every stream from the gateway over HTTP/1.1, and every answer through nginx).
    public var isChunked: Bool { framer.isChunked }
    /// A chunked body's last chunk arrived: the server finished the body on purpose.
    public var isComplete: Bool { framer.isComplete }
    /// The id a reconnect sends as `Last-Event-ID` (empty when the stream set none).
    public var lastEventID: String { decoder.lastEventID }

    /// Reads `buffer`; returns what it completed, in stream order (nothing once the response is malformed).
    public mutating func read(_ buffer: ByteBuffer) -> [SSEDecoder.Parsed] {
        let before = bytesRead
        bytesRead += buffer.readableBytes
        guard malformed == nil else { return [] }
        var decoded: [UInt8] = []
        do {
            try buffer.withUnsafeReadableBytes { bytes in
                try framer.feed(bytes, onHead: { _ in }, onBody: { decoded.append(contentsOf: $0) })
            }
        } catch {
            malformed = "\(error) (after \(before) bytes)"
        }
        body += decoded
        decoder.feed(decoded)
        return decoder.drain()
    }

    /// The value of the head's first header called `name` (any case), without surrounding spaces.
    public func header(_ name: String) -> String? {
        guard let headText else { return nil }
        return Self.header(name, in: headText)
    }

    /// The value of the first header called `name` (any case) in a response head's text.
    public static func header(_ name: String, in head: String) -> String? {
        let wanted = name.lowercased()
        for line in head.split(separator: "\r\n").dropFirst() {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2, pair[0].lowercased() == wanted else { continue }
            let value = pair[1].drop { $0 == " " || $0 == "\t" }
            let end = value.lastIndex { $0 != " " && $0 != "\t" }.map { value.index(after: $0) } ?? value.startIndex
            return String(value[..<end])
        }
        return nil
    }
}
