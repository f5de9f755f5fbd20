import LocalRedis
import SSEProtocol
import Testing

/// The per-topic position a multi-topic stream carries on a Redis Cluster (issue 15, point 4): exact text, exact
/// round trips, client input refused rather than guessed, bounded size.
@Suite("Stream positions")
struct StreamPositionTests {
    static func topic(_ name: String) -> Topic { try! Topic(validating: name) }
    static func id(_ milliseconds: UInt64, _ sequence: UInt64) -> EventID {
        EventID(milliseconds: milliseconds, sequence: sequence)
    }

    @Test func keysAreTheFNV1aHashOfTheName() {
        #expect(StreamPosition.key(of: Self.topic("board")) == 0xEF92_FE2B)
        #expect(StreamPosition.key(of: Self.topic("news")) == 0x4BC7_BC46)
        #expect(StreamPosition.key(of: Self.topic("user.42")) == 0xA95D_4556)
    }

    @Test func theTextHoldsABaseAndOneEntryPerTopicInKeyOrder() throws {
        let base: UInt64 = 1_795_245_410_397
        let position = try StreamPosition([
            Self.topic("board"): Self.id(base + 100, 1), Self.topic("news"): Self.id(base, 0),
            Self.topic("user.42"): Self.id(base + 36, 35),
        ])
        // news (4bc7bc46 = l0y3wm), user.42 (a95d4556 = 1azqe6u), board (ef92fe2b = 1uh1fl7); base mwq2rk2l.
        #expect(position.description == "p1.mwq2rk2l.l0y3wm~0-0.1azqe6u~10-z.1uh1fl7~2s-1")
        #expect(StreamPosition(parsing: position.description) == position)
        #expect(position.id(of: Self.topic("board")) == Self.id(base + 100, 1))
        #expect(position.id(of: Self.topic("other")) == nil)
        #expect(StreamPosition().description == "p1")
        #expect(StreamPosition(parsing: "p1") == StreamPosition())
    }

    @Test func advancingMovesOnlyForwardAndAddsMissingTopicsInOrder() throws {
        var position = try StreamPosition([Self.topic("board"): Self.id(10, 0)])
        position.advance(Self.topic("board"), to: Self.id(9, 5))
        #expect(position.id(of: Self.topic("board")) == Self.id(10, 0))
        position.advance(Self.topic("board"), to: Self.id(10, 1))
        position.advance(Self.topic("news"), to: Self.id(3, 0))
        position.advance(Self.topic("user.42"), to: Self.id(4, 0))
        #expect(position.entries.map(\.key) == [0x4BC7_BC46, 0xA95D_4556, 0xEF92_FE2B])
        #expect(position.description == "p1.3.l0y3wm~0-0.1azqe6u~1-0.1uh1fl7~7-1")
    }

    @Test func randomPositionsRoundTripWithinTheBound() throws {
        var generator = SeededGenerator(seed: 0x5053_4954)
        for _ in 0..<300 {
            var ids: [Topic: EventID] = [:]
            let count = Int.random(in: 1...StreamPosition.maximumTopics, using: &generator)
            let base = UInt64.random(in: 0...UInt64.max / 2, using: &generator)
            for index in 0..<count {
                let spread = [UInt64(0), 1, 1_000, 86_400_000, UInt64.max / 2].randomElement(using: &generator)!
                ids[Self.topic("t\(index).\(UInt32.random(in: 0...UInt32.max, using: &generator))")] = Self.id(
                    base + UInt64.random(in: 0...spread, using: &generator),
                    UInt64.random(in: 0...UInt64.max, using: &generator))
            }
            guard let position = try? StreamPosition(ids) else { continue }  // a key collision: skipped
            let text = position.description
            #expect(text.utf8.count <= StreamPosition.maximumLength)
            #expect(text.utf8.allSatisfy { "0123456789abcdefghijklmnopqrstuvwxyz.~-".utf8.contains($0) })
            #expect(StreamPosition(parsing: text) == position, "\(text)")
            for (topic, id) in ids { #expect(position.id(of: topic) == id) }
        }
    }

    @Test func thirtyTwoTopicsWithinADayTakeAtMost587Bytes() throws {
        var ids: [Topic: EventID] = [:]
        for index in 0..<32 { ids[Self.topic("tenant.\(index)")] = Self.id(1_795_245_410_397 + 86_399_999, 99) }
        ids[Self.topic("tenant.0")] = Self.id(1_795_245_410_397, 0)
        #expect(try StreamPosition(ids).description.utf8.count <= 11 + 32 * 18)
    }

    @Test(
        arguments: [
            "", "p", "p2", "p1.", "p1.0", "p1x", "p2.0.1~0-0", "p1.0.1~0-0.1~0-0", "p1.0.2~0-0.1~0-0",
            "p1.01.1~0-0", "p1.0.01~0-0", "p1.0.1~00-0", "p1.0.1~0-00", "p1.0.A~0-0", "p1.0.1~0", "p1.0.1-0",
            "p1.0.1~-0", "p1.0.1~0-", "p1.0.1~1-0", "p1.0..1~0-0", "p1.0.1~0-0.", "p1.0.zzzzzzz~0-0",
            "p1.3w5e11264sgsf.1~1-0", "p1.0.1~0-3w5e11264sgsg", "1700000000000-0", "p1.0.1~0-0 ",
        ])
    func malformedTextIsRefused(text: String) {
        #expect(StreamPosition(parsing: text) == nil, "\(text.debugDescription)")
    }

    @Test func tooManyEntriesOrTooLongATextIsRefused() {
        func entries(_ count: Int) -> String { (1...count).map { ".\(String($0, radix: 36))~0-0" }.joined() }
        #expect(StreamPosition(parsing: "p1.0" + entries(65)) == nil)
        #expect(StreamPosition(parsing: "p1.0" + entries(64))?.entries.count == 64)
        #expect(StreamPosition(parsing: "p1.0" + String(repeating: "x", count: StreamPosition.maximumLength)) == nil)
    }

    @Test func topicsWhoseKeysCollideOrTooManyTopicsCannotShareAPosition() {
        // A pair found by search: both FNV-1a 32-bit hashes are 0xa96f3322.
        #expect(StreamPosition.key(of: Self.topic("c3zpkfv9o")) == StreamPosition.key(of: Self.topic("cfq04255c")))
        #expect(throws: StreamPositionError.self) {
            try StreamPosition([Self.topic("c3zpkfv9o"): Self.id(1, 0), Self.topic("cfq04255c"): Self.id(1, 0)])
        }
        let error = StreamPositionError.keysCollide("c3zpkfv9o", "cfq04255c")
        #expect(
            error.description
                == #"topics "c3zpkfv9o" and "cfq04255c" cannot share a stream on a Redis Cluster (their position "#
                + "keys are equal): open them in two streams")
        var many: [Topic: EventID] = [:]
        for index in 0..<65 { many[Self.topic("t\(index)")] = Self.id(1, 0) }
        #expect(throws: StreamPositionError.tooManyTopics(65)) { try StreamPosition(many) }
    }
}
