import SSEProtocol
import ServerSupport

/// One message on the board, as stored in Redis and shown on the page.
///
/// Stored as a JSON object in the board's post list, written by the `board_add` function (``BoardLibrary``):
/// `{"version":7,"at":1795245410376,"author":"ada","text":"hello"}`. `version` is the model version the post
/// created, unique per board, so it also serves as the post's id; `at` is Redis's clock (milliseconds since the
/// Unix epoch), so posts made through different publisher processes are timed by one clock.
struct Post: Sendable, Equatable {
    var version: Int64
    var author: String
    var text: String
    /// Milliseconds since 1970-01-01 UTC, from Redis's `TIME`.
    var createdAt: Int64

    init(version: Int64, author: String, text: String, createdAt: Int64) {
        self.version = version
        self.author = author
        self.text = text
        self.createdAt = createdAt
    }

    /// Reads the stored form; anything else is ``BoardDataError``, naming the entry (a key written by something
    /// other than this service).
    init(stored bytes: [UInt8]) throws(BoardDataError) {
        let fail = BoardDataError("post entry \(PublisherError.quoted(String(decoding: bytes, as: UTF8.self)))")
        guard let value = try? JSONValue.parse(bytes: bytes, options: .publisher),
            let version = value["version"]?.integerValue,
            let createdAt = value["at"]?.integerValue,
            let author = value["author"]?.stringValue,
            let text = value["text"]?.stringValue
        else { throw fail }
        self.init(version: version, author: author, text: text, createdAt: createdAt)
    }
}

/// Redis holds board data this service cannot read (written by an older version or by hand).
struct BoardDataError: Error, CustomStringConvertible {
    var what: String

    init(_ what: String) {
        self.what = what
    }

    var description: String {
        "\(what) is not board data: expected {\"version\":N,\"at\":MS,\"author\":\"…\",\"text\":\"…\"}"
    }
}
