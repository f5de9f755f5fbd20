/// Takes an HTTP/1.1 response apart as it arrives: the head (status and whether the body is chunked), then the
/// body bytes, with chunked transfer coding removed.
///
/// Event streams are chunked from our gateway and through nginx, and close-delimited from nchan and the floor
/// server, so both forms are read. ``isComplete`` tells a chunked body that ended with its last chunk (finished on
/// purpose) from one whose connection simply closed (broken). The body is handed on as slices of the received
/// buffers, never copied; only the head (at most ``maximumHeadBytes``) is buffered. Used by the load generator and
/// the test clients.
public struct HTTPResponseFramer: Sendable {
    public static let maximumHeadBytes = 16384

    /// A response that is not HTTP/1.x or not well-formed chunked coding.
    public struct MalformedResponse: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    private enum State {
        case head
        case identity
        /// Reading a chunk-size line; `size` is the hex value so far, `inExtension` skips `;name=value`.
        case chunkSize(size: Int, inExtension: Bool)
        case chunkData(remaining: Int)
        /// The CRLF after a chunk's data.
        case chunkEnd
        /// The last chunk was seen; trailers and anything after are ignored.
        case finished
    }

    private var state = State.head
    private var head: [UInt8] = []

    public init() {}

    /// The response status once the head is complete.
    public private(set) var status: Int?
    /// The head's text (status line and header lines, without the blank line) once complete.
    public private(set) var headText: String?
    /// The body is chunked.
    public var isChunked: Bool {
        switch state {
        case .head, .identity: false
        default: true
        }
    }
    /// A chunked body's last chunk arrived: the body is complete.
    public var isComplete: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Feeds received bytes. `onHead` runs once, when the head completes (before any body bytes); `onBody` gets
    /// body slices in order.
    public mutating func feed(
        _ bytes: UnsafeRawBufferPointer, onHead: (Int) throws -> Void, onBody: (UnsafeRawBufferPointer) -> Void
    ) throws {
        var index = 0
        if case .head = state {
            guard let bodyStart = try consumeHead(bytes) else { return }
            index = bodyStart
            try onHead(status!)
        }
        while index < bytes.count {
            switch state {
            case .head, .finished:
                return
            case .identity:
                onBody(UnsafeRawBufferPointer(rebasing: bytes[index...]))
                return
            case .chunkSize(var size, var inExtension):
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\n") {
                    state = size == 0 ? .finished : .chunkData(remaining: size)
                    continue
                }
                if byte == UInt8(ascii: "\r") || inExtension || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
                {
                    continue
                }
                if byte == UInt8(ascii: ";") {
                    inExtension = true
                } else if let digit = Self.hexValue(byte), size < (1 << 40) {
                    size = size * 16 + digit
                } else {
                    throw MalformedResponse("malformed chunked body: unexpected byte \(byte) in a chunk size")
                }
                state = .chunkSize(size: size, inExtension: inExtension)
            case .chunkData(let remaining):
                let take = min(remaining, bytes.count - index)
                onBody(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + take)]))
                index += take
                state = take == remaining ? .chunkEnd : .chunkData(remaining: remaining - take)
            case .chunkEnd:
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\n") { state = .chunkSize(size: 0, inExtension: false) }
            }
        }
    }

    /// Buffers head bytes; returns the offset in `bytes` where the body starts once the head is complete.
    private mutating func consumeHead(_ bytes: UnsafeRawBufferPointer) throws -> Int? {
        let searchFrom = max(0, head.count - 3)
        let previous = head.count
        head.append(contentsOf: bytes)
        guard let end = Self.endOfHead(head, from: searchFrom) else {
            if head.count > Self.maximumHeadBytes {
                throw MalformedResponse("response head longer than \(Self.maximumHeadBytes) bytes")
            }
            return nil
        }
        let text = String(decoding: head[..<end], as: UTF8.self)
        headText = String(text.dropLast(4))
        head = []
        let lines = text.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."),
            let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else {
            throw MalformedResponse("malformed response head: \(text.prefix(80).debugDescription)")
        }
        status = code
        let chunked = lines.dropFirst().contains { line in
            let lower = line.lowercased()
            return lower.hasPrefix("transfer-encoding:") && lower.contains("chunked")
        }
        state = chunked ? .chunkSize(size: 0, inExtension: false) : .identity
        return end - previous
    }

    /// The index just past the first CRLF CRLF at or after `start`.
    private static func endOfHead(_ bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = start
        while index + 3 < bytes.count {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 {
                return index + 4
            }
            index += 1
        }
        return nil
    }

    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}
