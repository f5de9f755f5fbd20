import SSEProtocol

/// A topic pattern from a grant or the public-topics setting: an exact topic name (`board`, `user.42`), a trailing
/// wildcard segment (`org.7.*` matches every topic that starts with `org.7.`, at any depth, with at least one
/// character after the dot), or `*` (every topic).
///
/// Nothing else is accepted — no `*` inside a segment (`a*`), in front (`*.b`) or in the middle (`a.*.b`) — so a
/// grant means exactly what it reads as, and a matching is a prefix comparison with no backtracking (it runs for
/// every topic of every stream request, on an event loop).
public struct TopicPattern: Hashable, Sendable, CustomStringConvertible {
    /// What the pattern covers, decided once at parse time.
    enum Form: Hashable, Sendable {
        /// One topic.
        case exact(String)
        /// Every topic that starts with this prefix (which ends with a dot) and is longer than it.
        case prefix(String)
        /// Every topic.
        case everything
    }

    let form: Form

    /// The pattern as written, e.g. `org.7.*`.
    public var description: String {
        switch form {
        case .exact(let name): name
        case .prefix(let prefix): prefix + "*"
        case .everything: "*"
        }
    }

    /// Accepts a topic name, a topic name followed by `.*`, or `*`; anything else is an
    /// ``AuthConfigurationError`` saying which forms are allowed.
    public init(validating text: String) throws(AuthConfigurationError) {
        if text == "*" {
            form = .everything
            return
        }
        if text.hasSuffix(".*") {
            let stem = String(text.dropLast(2))
            // The stem must itself be a topic name, and the whole pattern must stay within the topic length, or
            // it could match nothing.
            guard (try? Topic(validating: stem)) != nil, text.utf8.count - 1 < Topic.maximumLength else {
                throw Self.invalid(text)
            }
            form = .prefix(stem + ".")
            return
        }
        guard (try? Topic(validating: text)) != nil else { throw Self.invalid(text) }
        form = .exact(text)
    }

    /// Whether `topic` is covered: equal to an exact pattern, longer than and starting with a wildcard's prefix,
    /// or anything for `*`.
    public func matches(_ topic: Topic) -> Bool {
        switch form {
        case .exact(let name):
            return topic.name == name
        case .prefix(let prefix):
            let name = topic.name.utf8
            return name.count > prefix.utf8.count && name.starts(with: prefix.utf8)
        case .everything:
            return true
        }
    }

    static func invalid(_ text: String) -> AuthConfigurationError {
        AuthConfigurationError(
            "topic pattern \(Quoting.quoted(text)) is invalid: use a topic name (letters, digits and - _ . :), "
                + "a topic name followed by .* or a lone *")
    }
}

/// The patterns of one grant (or of the public-topics setting); a topic is covered when any of them matches.
public struct TopicPatterns: Sendable, Equatable {
    /// In the order given (kept for messages and for `ssectl token`, which writes them into a token).
    public let patterns: [TopicPattern]

    public init(_ patterns: [TopicPattern]) {
        self.patterns = patterns
    }

    /// Parses each text with ``TopicPattern/init(validating:)``; the first invalid one is the error.
    public init(validating texts: [String]) throws(AuthConfigurationError) {
        var patterns: [TopicPattern] = []
        patterns.reserveCapacity(texts.count)
        for text in texts { patterns.append(try TopicPattern(validating: text)) }
        self.init(patterns)
    }

    /// Covers nothing.
    public static let none = TopicPatterns([])

    /// Whether any pattern covers `topic`.
    public func matches(_ topic: Topic) -> Bool {
        patterns.contains { $0.matches(topic) }
    }

    /// The first topic (in the given order) no pattern matches; nil when all match. A stream request is all or
    /// nothing, and the 403 names this topic.
    public func firstUnmatched(in topics: [Topic]) -> Topic? {
        topics.first { !matches($0) }
    }

    /// The patterns as written, e.g. `["board", "org.7.*"]`.
    public var descriptions: [String] { patterns.map(\.description) }
}

/// What a token allows: the topics it may subscribe to and the topics it may publish on.
public struct Grants: Sendable, Equatable {
    public var subscribe: TopicPatterns
    public var publish: TopicPatterns

    public init(subscribe: TopicPatterns = .none, publish: TopicPatterns = .none) {
        self.subscribe = subscribe
        self.publish = publish
    }
}
