#if canImport(Glibc)
    import Glibc
#endif

/// Splits an event-stream body into lines and events, incrementally and without copying, keeping only what a
/// benchmark needs: each event's payload fields, and comment lines.
///
/// Thousands of streams are scanned in one process, so the state per stream is small: a line cut by a read
/// boundary keeps at most ``keptPrefix`` bytes (enough for `data: seq=… t=…`), not the whole line. Lines end at LF
/// (a CR before it is dropped), which is what our gateway, nchan and nginx send; a lone CR as a line end, which the
/// SSE format also allows, is not recognised. The first `data:` line of an event that holds a benchmark payload
/// counts; later ones are skipped.
struct EventScanner {
    /// Bytes of a cut line kept to classify and parse it.
    static let keptPrefix = 64

    /// The start of a line cut by a read boundary.
    private var partial: [UInt8] = []
    /// Full length of that cut line so far (beyond what `partial` keeps); 0 when no line is cut.
    private var partialLength = 0
    /// The event being read has a `data:` line.
    private var hasData = false
    private var fields: Payload.Fields?

    /// Scans body bytes; `onEvent` runs for each dispatched event that had data (with its payload fields, or nil
    /// when the data is not a benchmark payload), `onComment` for each comment line.
    @inline(__always)
    mutating func scan(
        _ bytes: UnsafeRawBufferPointer, onEvent: (Payload.Fields?) -> Void, onComment: () -> Void
    ) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let count = bytes.count
        var start = 0
        while start < count {
            guard let found = memchr(base + start, 0x0A, count - start) else {
                keep(UnsafeRawBufferPointer(start: base + start, count: count - start))
                return
            }
            let end = UnsafeRawPointer(found) - base
            if partialLength > 0 {
                keep(UnsafeRawBufferPointer(start: base + start, count: end - start))
                let length = partialLength
                partial.withUnsafeBytes { line in
                    handle(line, fullLength: length, onEvent: onEvent, onComment: onComment)
                }
                partial.removeAll(keepingCapacity: true)
                partialLength = 0
            } else {
                handle(
                    UnsafeRawBufferPointer(start: base + start, count: end - start), fullLength: end - start,
                    onEvent: onEvent, onComment: onComment)
            }
            start = end + 1
        }
    }

    private mutating func keep(_ bytes: UnsafeRawBufferPointer) {
        let room = Self.keptPrefix - partial.count
        if room > 0 { partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes.prefix(room))) }
        partialLength += bytes.count
    }

    /// One line without its LF; `line` may be only the first ``keptPrefix`` bytes of a longer line.
    @inline(__always)
    private mutating func handle(
        _ line: UnsafeRawBufferPointer, fullLength: Int, onEvent: (Payload.Fields?) -> Void, onComment: () -> Void
    ) {
        if fullLength == 0 || (fullLength == 1 && line[0] == 0x0D) {
            if hasData { onEvent(fields) }
            hasData = false
            fields = nil
            return
        }
        let first = line[0]
        if first == UInt8(ascii: ":") {
            onComment()
        } else if first == UInt8(ascii: "d"), line.count >= 5, line[1] == UInt8(ascii: "a"),
            line[2] == UInt8(ascii: "t"), line[3] == UInt8(ascii: "a"), line[4] == UInt8(ascii: ":")
        {
            // The first data line that is a benchmark payload counts: the floor server (bench/run) sends a reliable
            // envelope's header line (`data: \u{1E}sse1 <id> `) before the payload's line.
            if fields == nil { fields = Payload.parse(UnsafeRawBufferPointer(rebasing: line[5...])) }
            hasData = true
        }
    }
}
