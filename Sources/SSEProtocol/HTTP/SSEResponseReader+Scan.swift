import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

extension SSEResponseReader {
    /// One piece of an event-stream response as ``SSEResponseReader/scan(_:_:)`` hands it on, in stream order.
    ///
    /// The bytes point into the buffer being read, or into the reader's copy of a line that a read boundary cut, and
    /// are valid only during the call: a caller that keeps something parses or copies it there.
    public enum Piece {
        /// The head is complete with this status; comes once, before any line of the body.
        case head(status: Int)
        /// A field line: the name up to the first colon, the value after it with one leading space removed (empty
        /// for a line without a colon), as the WHATWG algorithm splits them. Field names are not interpreted.
        case field(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
        /// A line starting with `:`, the text after it with one leading space removed.
        case comment(UnsafeRawBufferPointer)
        /// An empty line: the end of an event block, where a browser dispatches the event if it had data.
        case blank
    }

    /// Reads `buffer` as ``read(_:)`` does (head, chunked coding, a malformed answer reported once in
    /// ``malformed``) but hands each piece to `onPiece` instead of building events: no String per field, no array
    /// per read, and the body is not kept (``body`` stays empty).
    ///
    /// Lines end at LF, CR or CRLF, also when a read boundary falls between the CR and the LF, and a byte order mark
    /// at the body's start is skipped, as ``SSEDecoder`` does; so a caller that joins `data` values with LF and
    /// dispatches at ``Piece/blank`` gets the events ``read(_:)`` returns. Use one of the two per reader.
    public mutating func scan(_ buffer: ByteBuffer, _ onPiece: (Piece) -> Void) {
        let before = bytesRead
        bytesRead += buffer.readableBytes
        guard malformed == nil else { return }
        // The line state is moved out while the framer runs (a closure may not reach `self` during its mutation);
        // moved, not copied, so the cut line's storage keeps one owner and is never copied on write.
        var lines = self.lines
        self.lines = LineScanner()
        defer { self.lines = lines }
        do {
            try buffer.withUnsafeReadableBytes { bytes in
                try framer.feed(
                    bytes, onHead: { onPiece(.head(status: $0)) }, onBody: { lines.scan($0, onPiece) })
            }
        } catch {
            malformed = "\(error) (after \(before) bytes)"
        }
    }

    /// Splits body bytes into lines as they arrive, keeping only a line that a read boundary cuts.
    ///
    /// A line within one body slice is handed on in place; only the start of a cut line is copied, into storage
    /// kept between reads (a stream's longest cut line, a few hundred bytes for benchmark events). Line ends are
    /// found with `memchr`, once for LF and once for CR per stretch scanned, so a body without CRs is searched for
    /// them once per slice, not once per line.
    struct LineScanner: Sendable {
        /// The start of a line cut by a read boundary.
        private var partial: [UInt8] = []
        /// The last slice ended with a CR: an LF starting the next one belongs to that line end.
        private var swallowLineFeed = false
        /// Bytes of a byte order mark matched at the body's start; the check is over once ``checkedStart`` is set.
        private var byteOrderMarkMatched = 0
        private var checkedStart = false

        private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
        private static let lineFeed = UInt8(ascii: "\n")
        private static let carriageReturn = UInt8(ascii: "\r")
        private static let colon = UInt8(ascii: ":")

        mutating func scan(_ bytes: UnsafeRawBufferPointer, _ onPiece: (Piece) -> Void) {
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            let count = bytes.count
            var start = 0
            if !checkedStart {
                start = skipByteOrderMark(bytes)
                guard checkedStart else { return }
            }
            if swallowLineFeed, start < count {
                swallowLineFeed = false
                if base.load(fromByteOffset: start, as: UInt8.self) == Self.lineFeed { start += 1 }
            }
            var lineFeed = Self.find(Self.lineFeed, in: bytes, from: start)
            var carriageReturn = Self.find(Self.carriageReturn, in: bytes, from: start)
            while start < count {
                if lineFeed < start { lineFeed = Self.find(Self.lineFeed, in: bytes, from: start) }
                if carriageReturn < start { carriageReturn = Self.find(Self.carriageReturn, in: bytes, from: start) }
                let end = min(lineFeed, carriageReturn)
                guard end < count else {
                    partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
                    return
                }
                if partial.isEmpty {
                    Self.emit(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), onPiece)
                } else {
                    partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                    partial.withUnsafeBytes { Self.emit($0, onPiece) }
                    partial.removeAll(keepingCapacity: true)
                }
                start = end + 1
                if end == carriageReturn {
                    if start == count {
                        swallowLineFeed = true
                    } else if base.load(fromByteOffset: start, as: UInt8.self) == Self.lineFeed {
                        start += 1
                    }
                }
            }
        }

        /// Skips a byte order mark at the body's start, also one split over reads; returns where the lines start.
        /// Bytes that began like a mark but were not one are the start of the first line.
        private mutating func skipByteOrderMark(_ bytes: UnsafeRawBufferPointer) -> Int {
            var index = 0
            while byteOrderMarkMatched < 3, index < bytes.count {
                guard bytes[index] == Self.byteOrderMark[byteOrderMarkMatched] else {
                    partial.append(contentsOf: Self.byteOrderMark.prefix(byteOrderMarkMatched))
                    checkedStart = true
                    return index
                }
                byteOrderMarkMatched += 1
                index += 1
            }
            if byteOrderMarkMatched == 3 { checkedStart = true }
            return index
        }

        /// The offset of the first `byte` at or after `start`, or `bytes.count` when there is none.
        @inline(__always)
        private static func find(_ byte: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
            guard start < bytes.count, let base = bytes.baseAddress,
                let found = memchr(base + start, CInt(byte), bytes.count - start)
            else { return bytes.count }
            return UnsafeRawPointer(found) - base
        }

        /// Hands on one line without its line end. The colon is looked for byte by byte, not with `memchr`: it
        /// follows a field name of a few letters, sooner than a call would pay off.
        @inline(__always)
        private static func emit(_ line: UnsafeRawBufferPointer, _ onPiece: (Piece) -> Void) {
            guard !line.isEmpty else { return onPiece(.blank) }
            if line[0] == colon {
                return onPiece(.comment(droppingOneSpace(UnsafeRawBufferPointer(rebasing: line[1...]))))
            }
            var at = 1
            while at < line.count, line[at] != colon { at += 1 }
            guard at < line.count else {
                return onPiece(.field(name: line, value: UnsafeRawBufferPointer(start: nil, count: 0)))
            }
            onPiece(
                .field(
                    name: UnsafeRawBufferPointer(rebasing: line[..<at]),
                    value: droppingOneSpace(UnsafeRawBufferPointer(rebasing: line[(at + 1)...]))))
        }

        @inline(__always)
        private static func droppingOneSpace(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
            value.first == UInt8(ascii: " ") ? UnsafeRawBufferPointer(rebasing: value[1...]) : value
        }
    }
}
