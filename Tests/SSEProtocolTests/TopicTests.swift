import SSEProtocol
import Testing

@Suite("Topic names")
struct TopicTests {
    @Test(arguments: ["a", "chat.room-1", "orders:eu_2", "A-Z.0:9_", String(repeating: "x", count: 128)])
    func acceptsLettersDigitsAndPunctuationUpTo128Characters(name: String) throws {
        #expect(try Topic(validating: name).name == name)
    }

    @Test(arguments: [
        ("a b", #"topic "a b" is invalid: use letters, digits and - _ . : (1–128 characters)"#),
        ("", #"topic "" is invalid: use letters, digits and - _ . : (1–128 characters)"#),
        ("a\nb", #"topic "a\nb" is invalid: use letters, digits and - _ . : (1–128 characters)"#),
        ("a{b}", #"topic "a{b}" is invalid: use letters, digits and - _ . : (1–128 characters)"#),
        ("a/b", #"topic "a/b" is invalid: use letters, digits and - _ . : (1–128 characters)"#),
        ("naïve", #"topic "naïve" is invalid: use letters, digits and - _ . : (1–128 characters)"#),
        (
            String(repeating: "y", count: 129),
            "topic \"\(String(repeating: "y", count: 129))\" is invalid: use letters, digits and - _ . : "
                + "(1–128 characters)"
        ),
        (
            String(repeating: "z", count: 200),
            "topic \"\(String(repeating: "z", count: 160))\"… (200 characters) is invalid: use letters, digits "
                + "and - _ . : (1–128 characters)"
        ),
    ])
    func rejectsOtherNamesSayingWhatIsAllowed(name: String, message: String) {
        #expect(throws: SSEProtocolError.invalidTopic(name)) { try Topic(validating: name) }
        #expect(SSEProtocolError.invalidTopic(name).description == message)
    }

    @Test func channelAndHistoryKeyShareTheNameAsHashTag() throws {
        let topic = try Topic(validating: "chat.room-1")
        #expect(topic.channel == "sse:{chat.room-1}")
        #expect(topic.historyKey == "sse:{chat.room-1}:history")
        #expect(topic.clockKey == "sse:{chat.room-1}:clock")
        #expect(topic.description == "chat.room-1")
    }

    @Test func aChannelMapsBackToItsTopic() throws {
        #expect(Topic(channel: "sse:{chat.room-1}") == (try Topic(validating: "chat.room-1")))
        #expect(Topic(channel: "sse:{a}")?.name == "a")
        for channel in ["sse:{chat}:history", "sse:{}", "sse:{a b}", "sse:{chat", "sse:chat", "other", "", "sse:{a}}"] {
            #expect(Topic(channel: channel) == nil, "channel \(channel.debugDescription)")
        }
    }

    @Test func topicsSortByName() throws {
        let names = ["b", "a:2", "a", "A"]
        let sorted = try names.map { try Topic(validating: $0) }.sorted().map(\.name)
        #expect(sorted == ["A", "a", "a:2", "b"])
    }
}
