/// The Redis Cluster slot of a key: CRC16 (the XMODEM variant the cluster specification names) of the key, or of its
/// hash tag, modulo 16384.
///
/// The hash tag is what lets the gateway keep a topic's channel and history in one slot: both names contain
/// `{topic}`, and only the text between the first `{` and the next `}` is hashed when it is not empty.
public struct HashSlot: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The number of slots of every Redis Cluster.
    public static let count = 16384

    public let value: Int

    public init(_ value: Int) {
        precondition((0..<Self.count).contains(value), "slot \(value) is outside 0..<16384")
        self.value = value
    }

    /// The slot of a key given as text (hashed as its UTF-8 bytes).
    public init(key: String) {
        self.init(key: Array(key.utf8))
    }

    /// The slot of a binary key.
    public init(key: some Collection<UInt8>) {
        self.value = Int(Self.crc16(Self.hashedPart(of: Array(key))) & 0x3FFF)
    }

    public var description: String { String(value) }

    public static func < (lhs: HashSlot, rhs: HashSlot) -> Bool { lhs.value < rhs.value }

    /// The bytes that are hashed: those between the first `{` and the first `}` after it when there are any, else
    /// the whole key (so `{}` and an unclosed `{` hash the whole key).
    static func hashedPart(of key: [UInt8]) -> ArraySlice<UInt8> {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        else { return key[...] }
        return key[(open + 1)..<close]
    }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection, no final XOR.
    static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    /// The byte-at-a-time table of the polynomial, computed once.
    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
