/// A caller's name for one publish, so that a retry of a publish that timed out (and may have run anyway) answers
/// the first id instead of publishing again (see `HistoryLibrary` in SSEHistory, "Why an idempotency key").
///
/// 1–200 printable ASCII characters (space to `~`): enough for a UUID, an order number or a hash, and safe in a
/// header, a Redis key and a log line. Keys are per topic: the same key on another topic is another publish.
public struct IdempotencyKey: Sendable, Hashable, CustomStringConvertible {
    public static let maximumLength = 200

    public let value: String

    /// Checks `value`; the error says what was wrong, naming the input as `subject` (`Idempotency-Key` for the
    /// HTTP header, `idempotency key` elsewhere).
    public init(validating value: String, subject: String = "idempotency key") throws(IdempotencyKeyError) {
        let rule = "use 1–\(Self.maximumLength) printable ASCII characters (space to ~)"
        guard !value.isEmpty else { throw IdempotencyKeyError("\(subject) is empty: \(rule)") }
        guard value.unicodeScalars.allSatisfy({ (0x20...0x7E).contains($0.value) }) else {
            throw IdempotencyKeyError("\(subject) \(SSEProtocolError.quoted(value)) is invalid: \(rule)")
        }
        guard value.utf8.count <= Self.maximumLength else {
            throw IdempotencyKeyError("\(subject) of \(value.utf8.count) characters is too long: \(rule)")
        }
        self.value = value
    }

    public var description: String { value }

    /// The Redis key holding the first id published with this key on `topic`: `sse:{NAME}:idem:<key>`, beside the
    /// topic's history under the same hash tag (one Cluster slot).
    public func redisKey(on topic: Topic) -> String {
        topic.channel + ":idem:" + value
    }
}

/// An idempotency key that breaks the rule, e.g. `Idempotency-Key is empty: use 1–200 printable ASCII characters`.
public struct IdempotencyKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
