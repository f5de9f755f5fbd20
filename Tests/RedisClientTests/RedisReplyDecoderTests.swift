import LocalRedis
import NIOCore
import Testing

@testable import RedisClient

@Suite("Reply decoder and command encoder (hiredis, no I/O)")
struct RedisReplyDecoderTests {
    /// Every RESP2 type, nested arrays, a nil bulk and a nil array, with binary payloads.
    static let stream: [UInt8] =
        Array(
            ("+OK\r\n-ERR unknown command 'FOO'\r\n:42\r\n:-7\r\n$5\r\nhe\0lo\r\n$0\r\n\r\n$-1\r\n*-1\r\n"
                + "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$4\r\na\r\nb\r\n*2\r\n*1\r\n:1\r\n*0\r\n").utf8)
        + Array("$3\r\n".utf8) + [0xff, 0xfe, 0x00] + Array("\r\n".utf8)

    static let expected: [RedisReply] = [
        .status("OK"),
        .error("ERR unknown command 'FOO'"),
        .integer(42),
        .integer(-7),
        .bulk(ByteBuffer(Array("he\0lo".utf8))),
        .bulk(ByteBuffer()),
        .null,
        .null,
        .array([
            .bulk(ByteBuffer(string: "message")), .bulk(ByteBuffer(string: "ch")), .bulk(ByteBuffer(string: "a\r\nb")),
        ]),
        .array([.array([.integer(1)]), .array([])]),
        .bulk(ByteBuffer([0xff, 0xfe, 0x00])),
    ]

    @Test func decodesEveryReplyType() throws {
        let decoder = RedisReplyDecoder()
        try decoder.feed(Self.stream)
        var replies: [RedisReply] = []
        while let reply = try decoder.next() { replies.append(reply) }
        #expect(replies == Self.expected)
    }

    @Test func givesTheSameRepliesWhenSplitAtEveryBoundary() throws {
        for split in 0...Self.stream.count {
            let decoder = RedisReplyDecoder()
            var replies: [RedisReply] = []
            try decoder.feed(Self.stream[..<split])
            while let reply = try decoder.next() { replies.append(reply) }
            try decoder.feed(Self.stream[split...])
            while let reply = try decoder.next() { replies.append(reply) }
            #expect(replies == Self.expected, "split at byte \(split)")
        }
    }

    @Test func givesTheSameRepliesFedOneByteAtATime() throws {
        let decoder = RedisReplyDecoder()
        var replies: [RedisReply] = []
        for byte in Self.stream {
            try decoder.feed([byte])
            while let reply = try decoder.next() { replies.append(reply) }
        }
        #expect(replies == Self.expected)
    }

    @Test func rejectsBytesThatAreNotRESP() throws {
        let decoder = RedisReplyDecoder()
        try decoder.feed(Array("?what\r\n".utf8))
        #expect(throws: RedisError.self) { try decoder.next() }
    }

    /// Property: any arguments — NUL, CR, LF, invalid UTF-8, empty — encode to RESP that decodes back to exactly
    /// the same bytes, whichever two pieces the encoding is cut into.
    @Test(arguments: 0..<200)
    func encodedCommandsRoundTripThroughTheDecoder(seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        let count = Int.random(in: 1...6, using: &generator)
        let alphabet: [UInt8] = [0, 10, 13, 0x20, 0x41, 0x7f, 0x80, 0xc3, 0xa9, 0xff, 0x24, 0x2a, 0x3a]
        let arguments: [[UInt8]] = (0..<count).map { _ in
            let length = Int.random(in: 0...40, using: &generator)
            return (0..<length).map { _ in
                Bool.random(using: &generator)
                    ? alphabet.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
        }
        let command = RedisCommand("ECHO", arguments: arguments)
        var encoded = ByteBuffer()
        command.encode(into: &encoded)
        let bytes = Array(encoded.readableBytesView)
        let cut = Int.random(in: 0...bytes.count, using: &generator)

        let decoder = RedisReplyDecoder()
        try decoder.feed(bytes[..<cut])
        var reply = try decoder.next()
        if reply == nil {
            try decoder.feed(bytes[cut...])
            reply = try decoder.next()
        }
        let expected = RedisReply.array(
            [.bulk(ByteBuffer(string: "ECHO"))] + arguments.map { .bulk(ByteBuffer($0)) })
        #expect(reply == expected)
        #expect(try decoder.next() == nil)
    }

    @Test func encodesCommandsAsRESPMultiBulk() {
        var encoded = ByteBuffer()
        RedisCommand("SET", "k", [0, 13, 10] as [UInt8], 12).encode(into: &encoded)
        #expect(String(buffer: encoded) == "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\0\r\n\r\n$2\r\n12\r\n")
    }

    @Test func recognisesPubSubPushes() {
        func push(_ kind: String) -> RedisReply { .array([.bulk(ByteBuffer(string: kind)), .bulk(ByteBuffer())]) }
        for kind in ["message", "pmessage", "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "pong"] {
            #expect(RedisChannelHandler.isPush(push(kind)), "\(kind)")
        }
        #expect(!RedisChannelHandler.isPush(push("messages")))
        #expect(!RedisChannelHandler.isPush(.status("OK")))
        #expect(!RedisChannelHandler.isPush(.array([.integer(1)])))
    }
}
