import NIOCore

/// A message on the control channel that every gateway node subscribes to (classic pub/sub, so it reaches every
/// node of a Redis Cluster too): an instruction for the streams of the whole cluster, not an event for a topic.
///
/// The payload is a JSON object with one member naming the instruction:
///
/// - `{"end":{"topic":"jobs.42","reason":"job finished"}}` finishes, on purpose, every stream that follows the
///   topic: each gets an `end` event (`{"reason":…,"topics":[…]}`) and a complete body, so a `fetch` reader stops
///   instead of retrying. `reason` is optional (default `ended`), one line of at most 200 characters.
///
/// - `{"revoke":{"subject":"42"}}`, `{"revoke":{"token":"JTI"}}` or `{"revoke":{"topic":"user.42"}}` closes
///   every stream authorized by a token of that subject, with that id, or for that topic, after an in-band
///   `revoked` event, and refuses such tokens on reconnect: a token id until `until`, a subject's or a topic's
///   tokens issued at or before `at` until `until` (both Unix seconds; `at` defaults to when a node receives it,
///   `until` to a day after `at`). `reason` is optional, as for `end`.
///
/// `redis-cli PUBLISH sse:control '{"end":{"topic":"jobs.42"}}'` or `ssectl end jobs.42` send it.
public enum ControlMessage: Equatable, Sendable {
    case end(topic: Topic, reason: String)
    case revoke(Revocation)

    /// What a `revoke` message names, and for how long tokens it covers stay refused.
    public struct Revocation: Equatable, Sendable {
        public enum Target: Equatable, Sendable {
            case subject(String)
            case token(String)
            case topic(Topic)
        }
        public var target: Target
        /// Unix seconds: tokens of a subject or topic issued at or before this are covered.
        public var at: Double?
        /// Unix seconds after which the revocation is forgotten.
        public var until: Double?
        public var reason: String

        public init(target: Target, at: Double? = nil, until: Double? = nil, reason: String = "revoked") {
            self.target = target
            self.at = at
            self.until = until
            self.reason = reason
        }
    }

    /// The channel every node subscribes to.
    public static let channel = "sse:control"
    /// The longest `reason` accepted, in characters.
    public static let maximumReasonLength = 200

    /// Parses a control payload; the error says what was expected.
    public init(parsing payload: ByteBuffer) throws(InvalidControlMessage) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes: payload.readableBytesView)
        } catch {
            throw InvalidControlMessage("\(error)")
        }
        guard let members = value.members, members.count == 1, ["end", "revoke"].contains(members[0].key) else {
            throw InvalidControlMessage("expected an object with one member, \"end\" or \"revoke\"")
        }
        if members[0].key == "revoke" {
            self = .revoke(try Self.revocation(members[0].value))
            return
        }
        let end = members[0].value
        guard case .string(let name)? = end["topic"] else {
            throw InvalidControlMessage("\"end\" needs a string \"topic\"")
        }
        let topic: Topic
        do {
            topic = try Topic(validating: name)
        } catch {
            throw InvalidControlMessage("\(error)")
        }
        var reason = "ended"
        switch end["reason"] {
        case nil: break
        case .string(let text)?:
            reason = try Self.validReason(text)
        default:
            throw InvalidControlMessage("\"reason\" must be a string")
        }
        self = .end(topic: topic, reason: reason)
    }

    /// A valid `reason`: one line of 1–200 characters.
    public static func validReason(_ text: String) throws(InvalidControlMessage) -> String {
        guard !text.isEmpty, text.count <= maximumReasonLength,
            !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw InvalidControlMessage(
                "reason \(SSEProtocolError.quoted(text)) is invalid: one line of 1–\(maximumReasonLength) characters")
        }
        return text
    }

    /// The JSON payload to publish on ``channel``.
    public var payload: String {
        switch self {
        case .end(let topic, let reason):
            "{\"end\":{\"topic\":" + JSONValue.string(topic.name).compactText + ",\"reason\":"
                + JSONValue.string(reason).compactText + "}}"
        case .revoke(let revocation):
            Self.payload(revocation)
        }
    }
}

/// A control payload that is not one of ``ControlMessage``'s forms.
public struct InvalidControlMessage: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = "control message is invalid: " + description }
    /// The error with this whole description (for tests comparing errors).
    public init(exactly description: String) { self.description = description }
}
