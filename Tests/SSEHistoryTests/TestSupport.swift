import NIOCore

extension ByteBuffer {
    init(bytes: [UInt8]) {
        self.init()
        writeBytes(bytes)
    }

    /// The readable bytes, for exact comparisons.
    var allBytes: [UInt8] { Array(readableBytesView) }
}

/// The UTF-8 bytes of a string literal, for building expected frames.
func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }
