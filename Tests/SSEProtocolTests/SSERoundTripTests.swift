import LocalRedis
import NIOCore
import SSEProtocol
import Testing

/// Property: whatever the data, SSEEncoder's frames parsed by an EventSource-conformant decoder give back the
/// data with line breaks normalised to LF, and the exact ids and event names, however the bytes are chunked.
@Suite("Encoder and decoder round trip")
struct SSERoundTripTests {
    /// Bytes that stress the format: line breaks, NUL, the field separator, spaces, UTF-8 and broken UTF-8.
    static let interestingBytes: [UInt8] = [
        0x00, 0x0A, 0x0D, 0x0D, 0x0A, 0x20, 0x3A, UInt8(ascii: "a"), UInt8(ascii: "Z"), 0xC3, 0xA9, 0xE2, 0x82, 0xAC,
        0xFF, 0x80, 0xEF, 0xBB, 0xBF,
    ]
    static let nameCharacters = Array("abcXYZ019-_:. é€") as [Character]

    static func randomData(_ generator: inout SeededGenerator) -> [UInt8] {
        let length = Int.random(in: 0...48, using: &generator)
        return (0..<length).map { _ in
            Bool.random(using: &generator)
                ? interestingBytes.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
        }
    }

    static func randomName(_ generator: inout SeededGenerator) -> EventName? {
        guard Bool.random(using: &generator) else { return nil }
        let length = Int.random(in: 1...16, using: &generator)
        var name = String((0..<length).map { _ in nameCharacters.randomElement(using: &generator)! })
        name = String(name.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
        return try? EventName(validating: name.isEmpty ? "x" : name)
    }

    /// What the spec's parser hands a browser: CRLF and lone CR become LF, then UTF-8 is decoded.
    static func normalised(_ data: [UInt8]) -> String {
        var result: [UInt8] = []
        var index = 0
        while index < data.count {
            if data[index] == 0x0D {
                result.append(0x0A)
                if index + 1 < data.count, data[index + 1] == 0x0A { index += 1 }
            } else {
                result.append(data[index])
            }
            index += 1
        }
        return String(decoding: result, as: UTF8.self)
    }

    static func decode(_ chunks: [ArraySlice<UInt8>]) -> [SSEDecoder.Parsed] {
        var decoder = SSEDecoder()
        var items: [SSEDecoder.Parsed] = []
        for chunk in chunks {
            decoder.feed(chunk)
            items += decoder.drain()
        }
        return items
    }

    @Test func randomEventsRoundTripWholeSplitAndByteByByte() {
        var generator = SeededGenerator(seed: 0x55E_2024)
        for caseNumber in 0..<300 {
            var stream = ByteBuffer()
            var expected: [SSEDecoder.Parsed] = []
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let id: EventID? =
                    Bool.random(using: &generator)
                    ? EventID(
                        milliseconds: .random(in: 0...UInt64.max, using: &generator),
                        sequence: .random(in: 0...9, using: &generator))
                    : nil
                let name = Self.randomName(&generator)
                let data = Self.randomData(&generator)
                SSEEncoder.event(ServerSentEvent(id: id, event: name, data: ByteBuffer(bytes: data)), into: &stream)
                expected.append(.event(id: id?.description, event: name?.value, data: Self.normalised(data)))
                if Int.random(in: 0..<4, using: &generator) == 0 {
                    SSEEncoder.comment("beat\r\n", into: &stream)
                    expected.append(.comment("beat  "))
                }
            }
            let bytes = stream.allBytes
            let split = Int.random(in: 0...bytes.count, using: &generator)
            #expect(Self.decode([bytes[...]]) == expected, "case \(caseNumber), whole")
            #expect(
                Self.decode([bytes[..<split], bytes[split...]]) == expected, "case \(caseNumber), split at \(split)")
            #expect(Self.decode(bytes.indices.map { bytes[$0...$0] }) == expected, "case \(caseNumber), byte by byte")
        }
    }
}
