/// The data of every benchmark event: `seq=<n> t=<ns> ` (and `l=<lane> ` from a publisher with several
/// connections) padded with `x` to the requested size.
///
/// The sequence number and the publish time travel inside the payload, not in the SSE `id:`, so gaps, duplicates
/// and latency are checked the same way for every system under test (our reliable ids are `ms-seq` from one clock
/// and not contiguous; nchan's are its own). `t` is the publisher's wall clock (`CLOCK_REALTIME`) in nanoseconds:
/// publisher and subscribers run on the same machine, so no clock skew enters the latency.
///
/// A publisher with several connections numbers each connection's events separately, as lane `l`: events of
/// different connections may reach the server in any order, but each lane's arrive in order, so gaps and
/// duplicates are still exact per lane.
enum Payload {
    /// Lanes 0…15: a publisher uses at most this many connections.
    static let maximumLanes = 16

    /// What a subscriber reads back from one event's data.
    struct Fields: Equatable {
        var sequence: UInt64
        var timestamp: UInt64
        var lane: Int = 0
    }

    /// The bytes of event `sequence`, published at `timestamp`; `size` bytes, or the bare header when it is longer.
    static func make(sequence: UInt64, timestamp: UInt64, lane: Int = 0, size: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(max(size, 48))
        bytes.append(contentsOf: "seq=".utf8)
        appendDecimal(sequence, to: &bytes)
        bytes.append(contentsOf: " t=".utf8)
        appendDecimal(timestamp, to: &bytes)
        bytes.append(UInt8(ascii: " "))
        if lane > 0 {
            bytes.append(contentsOf: "l=".utf8)
            appendDecimal(UInt64(lane), to: &bytes)
            bytes.append(UInt8(ascii: " "))
        }
        if bytes.count < size { bytes.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: size - bytes.count)) }
        return bytes
    }

    /// Reads `seq=<n> t=<ns>` from the value of a `data:` field (one leading space allowed, as the SSE format
    /// allows); nil when the data is not a benchmark payload. Only the first ~60 bytes are looked at.
    static func parse(_ value: UnsafeRawBufferPointer) -> Fields? {
        var index = 0
        if index < value.count, value[index] == UInt8(ascii: " ") { index += 1 }
        guard expect("seq=", in: value, at: &index), let sequence = number(in: value, at: &index),
            expect(" t=", in: value, at: &index), let timestamp = number(in: value, at: &index)
        else { return nil }
        var lane = 0
        if expect(" l=", in: value, at: &index), let number = number(in: value, at: &index) {
            lane = Int(min(number, UInt64(maximumLanes - 1)))
        }
        return Fields(sequence: sequence, timestamp: timestamp, lane: lane)
    }

    private static func expect(_ literal: StaticString, in value: UnsafeRawBufferPointer, at index: inout Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= value.count else { return false }
        let pointer = literal.utf8Start
        for offset in 0..<count where value[index + offset] != pointer[offset] { return false }
        index += count
        return true
    }

    private static func number(in value: UnsafeRawBufferPointer, at index: inout Int) -> UInt64? {
        var result: UInt64 = 0
        let start = index
        while index < value.count, index - start < 20 {
            let byte = value[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            result = result &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
            index += 1
        }
        return index > start ? result : nil
    }

    private static func appendDecimal(_ value: UInt64, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: String(value).utf8)
    }
}
