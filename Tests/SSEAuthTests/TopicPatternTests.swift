import SSEAuth
import SSEProtocol
import Testing

@Suite("Topic patterns")
struct TopicPatternTests {
    static let table: [(pattern: String, topic: String, matches: Bool)] = [
        ("board", "board", true),
        ("board", "board2", false),
        ("board", "boar", false),
        ("user.42", "user.42", true),
        ("user.42", "user.420", false),
        ("org.7.*", "org.7", false),
        ("org.7.*", "org.7.", false),
        ("org.7.*", "org.7.x", true),
        ("org.7.*", "org.7.x.y", true),
        ("org.7.*", "org.70.x", false),
        ("org.7.*", "org.8.x", false),
        ("*", "board", true),
        ("*", "org.7.x.y", true),
    ]

    @Test("patterns match exactly the topics their form covers", arguments: table)
    func patternMatches(_ row: (pattern: String, topic: String, matches: Bool)) throws {
        let pattern = try TopicPattern(validating: row.pattern)
        #expect(pattern.matches(try Topic(validating: row.topic)) == row.matches)
        #expect(pattern.description == row.pattern)
    }

    @Test(
        "patterns with a star anywhere but a trailing segment, or with invalid characters, are refused",
        arguments: ["a*", "*.b", "a.*.b", "", "bad topic", "org.7.**", ".*", "**", "a.b*"])
    func invalidPatternIsRefused(_ text: String) {
        let error = #expect(throws: AuthConfigurationError.self) { try TopicPattern(validating: text) }
        #expect(
            error?.description
                == "topic pattern \(text.debugDescription) is invalid: use a topic name (letters, digits and - _ . :), "
                + "a topic name followed by .* or a lone *")
    }

    @Test("a wildcard pattern longer than any topic could be is refused")
    func tooLongPrefixIsRefused() throws {
        let longest = String(repeating: "a", count: 126) + ".*"
        _ = try TopicPattern(validating: longest)
        #expect(throws: AuthConfigurationError.self) {
            try TopicPattern(validating: String(repeating: "a", count: 127) + ".*")
        }
        let topic = try Topic(validating: String(repeating: "a", count: 126) + ".b")
        #expect(try TopicPattern(validating: longest).matches(topic))
    }

    @Test("a pattern list names the first topic none of its patterns covers, in the order asked")
    func firstUnmatchedTopic() throws {
        let patterns = try TopicPatterns(validating: ["board", "org.7.*"])
        let topics = try ["board", "org.7.a", "secret", "org.8.a"].map { try Topic(validating: $0) }
        #expect(patterns.firstUnmatched(in: topics)?.name == "secret")
        #expect(patterns.firstUnmatched(in: Array(topics.prefix(2))) == nil)
        #expect(TopicPatterns.none.firstUnmatched(in: topics)?.name == "board")
        #expect(!TopicPatterns.none.matches(topics[0]))
        #expect(patterns.descriptions == ["board", "org.7.*"])
    }
}
