import SSEProtocol

/// A visitor of the board, known by a random 128-bit id in an HttpOnly cookie (``VisitorTokens/visitorCookie``),
/// with a private topic `visitor.<id>` only their own token grants.
///
/// The id is not a secret that protects anything by itself: the gateway lets a stream read `visitor.<id>` only
/// with a token signed by the publisher for that id, and the publisher signs one only for the id in the request's
/// own cookie. It is random rather than counted so that one visitor cannot guess another's topic name either.
struct Visitor: Sendable, Equatable {
    /// 32 lowercase hexadecimal digits.
    let id: String
    /// `visitor.<id>`.
    let topic: Topic

    /// The visitor of a cookie value: exactly 32 lowercase hexadecimal digits, else nil (a cookie someone edited
    /// is treated as no cookie, and its sender gets a new id).
    init?(id: String) {
        guard id.utf8.count == 32, id.utf8.allSatisfy(Self.isLowerHex),
            let topic = try? Topic(validating: Self.topicPrefix + id)
        else { return nil }
        self.id = id
        self.topic = topic
    }

    /// The prefix of every visitor's topic; a grant of `visitor.*` would read them all, so none is ever minted.
    static let topicPrefix = "visitor."

    /// A new visitor with an id from the system's cryptographic generator (`getrandom` on Linux).
    static func random() -> Visitor {
        // A valid id by construction: 32 hex digits.
        Visitor(id: randomHex())!
    }

    /// 128 random bits as 32 lowercase hexadecimal digits; also the token ids.
    static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        return [generator.next(), generator.next()].map { (word: UInt64) in
            let digits = String(word, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
