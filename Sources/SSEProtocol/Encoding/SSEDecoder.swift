import NIOCore

/// An incremental `text/event-stream` parser following the WHATWG EventSource algorithm ("Interpreting an event
/// stream"), for the `tail` debugging command, the load generator and tests.
///
/// Bytes may arrive in chunks split anywhere — inside a field, inside a UTF-8 sequence, or between the CR and LF
/// of one line break. A CR ends its line at once and a directly following LF, even one that only arrives in the
/// next chunk, is swallowed; that is what browsers do. A UTF-8 byte order mark at the very start is skipped.
///
/// Differences from a browser, on purpose: `retry:` and comments are reported (a browser applies the first and
/// ignores the second), and an event reports the `id:` set in its own block (`nil` when none) while
/// ``lastEventID`` keeps the spec's persistent value that a reconnect sends as `Last-Event-ID`.
public struct SSEDecoder: Sendable {
    /// What the stream said, in stream order.
    public enum Parsed: Sendable, Hashable {
        /// A dispatched event; `event` is nil when the block had no (or an empty) `event:` field, which browsers
        /// deliver as `message`. Data lines are joined with LF.
        case event(id: String?, event: String?, data: String)
        /// A `retry:` field with only ASCII digits: the reconnection delay in milliseconds.
        case retry(Int)
        /// A line starting with `:`, the text after it with one leading space removed.
        case comment(String)
    }

    /// The id a reconnect would send as `Last-Event-ID`: updated at each blank line from the most recent `id:`
    /// field, also for blocks without data (which are not dispatched), as the spec says.
    public private(set) var lastEventID = ""

    /// Bytes of the line being received; `pending[..<scanned]` is known to hold no line break.
    private var pending: [UInt8] = []
    private var scanned = 0
    private var swallowLineFeed = false
    private var checkedByteOrderMark = false

    private var dataBuffer: [UInt8] = []
    private var eventType = ""
    private var blockID: String?
    private var idBuffer = ""

    private var output: [Parsed] = []
    private var outputHead = 0

    public init() {}

    /// Parses whatever complete lines `buffer` finishes; the rest waits for the next feed.
    public mutating func feed(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { feed($0) }
    }

    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        pending.append(contentsOf: bytes)
        parseLines()
    }

    /// The next parsed item, or nil when everything fed so far has been returned.
    public mutating func next() -> Parsed? {
        guard outputHead < output.count else { return nil }
        let item = output[outputHead]
        outputHead += 1
        if outputHead == output.count {
            output.removeAll(keepingCapacity: true)
            outputHead = 0
        }
        return item
    }

    /// Everything parsed so far that ``next()`` has not returned yet.
    public mutating func drain() -> [Parsed] {
        var items: [Parsed] = []
        while let item = next() { items.append(item) }
        return items
    }

    private mutating func parseLines() {
        if !checkedByteOrderMark {
            let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
            let available = min(pending.count, 3)
            if pending.prefix(available).elementsEqual(byteOrderMark.prefix(available)) {
                if available < 3 { return }  // could still be a byte order mark: wait for more
                pending.removeFirst(3)
            }
            checkedByteOrderMark = true
        }
        var lineStart = 0
        var index = scanned
        while index < pending.count {
            let byte = pending[index]
            if swallowLineFeed {
                swallowLineFeed = false
                if byte == Self.lineFeed {
                    lineStart = index + 1
                    index += 1
                    continue
                }
            }
            if byte == Self.lineFeed || byte == Self.carriageReturn {
                processLine(pending[lineStart..<index])
                swallowLineFeed = byte == Self.carriageReturn
                lineStart = index + 1
            }
            index += 1
        }
        pending.removeFirst(lineStart)
        scanned = pending.count
    }

    private mutating func processLine(_ line: ArraySlice<UInt8>) {
        guard let first = line.first else {
            dispatch()
            return
        }
        if first == Self.colon {
            output.append(.comment(String(decoding: Self.droppingOneSpace(line.dropFirst()), as: UTF8.self)))
            return
        }
        let field: ArraySlice<UInt8>
        let value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: Self.colon) {
            field = line[..<colon]
            value = Self.droppingOneSpace(line[(colon + 1)...])
        } else {
            field = line
            value = []
        }
        switch String(decoding: field, as: UTF8.self) {
        case "event":
            eventType = String(decoding: value, as: UTF8.self)
        case "data":
            dataBuffer.append(contentsOf: value)
            dataBuffer.append(Self.lineFeed)
        case "id":
            if !value.contains(0) {
                idBuffer = String(decoding: value, as: UTF8.self)
                blockID = idBuffer
            }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let milliseconds = Int(String(decoding: value, as: UTF8.self))
            {
                output.append(.retry(milliseconds))
            }
        default:
            break  // unknown fields are ignored
        }
    }

    private mutating func dispatch() {
        lastEventID = idBuffer
        defer {
            dataBuffer.removeAll(keepingCapacity: true)
            eventType = ""
            blockID = nil
        }
        guard !dataBuffer.isEmpty else { return }
        dataBuffer.removeLast()  // every data line appended an LF; the last one is not part of the data
        let data = String(decoding: dataBuffer, as: UTF8.self)
        output.append(.event(id: blockID, event: eventType.isEmpty ? nil : eventType, data: data))
    }

    private static func droppingOneSpace(_ value: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        value.first == UInt8(ascii: " ") ? value.dropFirst() : value
    }

    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let colon = UInt8(ascii: ":")
}
