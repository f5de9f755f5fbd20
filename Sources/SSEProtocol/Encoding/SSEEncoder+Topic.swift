import NIOCore

extension SSEEncoder {
    /// `frame` (one or more encoded events) with `topic` as the first `data:` line of each event: what a stream
    /// opened with `tag=topic` receives, so that one stream can carry several consumers' topics (engine.js shares
    /// one stream between a browser's tabs) and each event can be routed by its topic. A topic never holds a line
    /// break, so the data's first line is always the whole topic; `id:` and `event:` lines are unchanged, and a
    /// block without `data:` (a comment, `retry:`) is left as it is.
    public static func tagging(
        _ frame: ByteBuffer, with topic: Topic, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        let tag = "data: \(topic.name)\n"
        var output = allocator.buffer(capacity: frame.readableBytes + 4 * tag.utf8.count)
        let newline = UInt8(ascii: "\n")
        frame.withUnsafeReadableBytes { bytes in
            var lineStart = 0
            var tagged = false
            while lineStart < bytes.count {
                let lineEnd = bytes[lineStart...].firstIndex(of: newline).map { $0 + 1 } ?? bytes.count
                let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<lineEnd])
                if line.count == 1 && line[0] == newline {
                    tagged = false  // the blank line ends the event
                } else if !tagged, line.starts(with: "data".utf8) {
                    output.writeString(tag)
                    tagged = true
                }
                output.writeBytes(line)
                lineStart = lineEnd
            }
        }
        return output
    }
}
