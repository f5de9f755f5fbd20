import CHiredis
import NIOCore

/// A Redis command: its name and binary-safe arguments, kept in one exact-size byte array.
///
/// Arguments are bytes, never interpolated text, so values with NUL, CR, LF or invalid UTF-8 travel unchanged.
/// The wire encoding is produced by hiredis (`redisFormatSdsCommandArgv`, the sds form of
/// `redisFormatCommandArgv`) when the command is written.
public struct RedisCommand: Sendable, Hashable {
    /// One allocation per command: `count` little-endian UInt32 argument lengths, then the arguments back to back
    /// (the name first).
    @usableFromInline var storage: [UInt8]
    /// Number of arguments including the name.
    @usableFromInline let count: Int

    /// A command with arguments of any mix of ``RedisArgument`` types.
    ///
    /// Inlinable so callers get a specialised copy: unspecialised, a parameter pack costs a runtime metadata lookup
    /// and witness-table calls per argument (about 15 % of the client thread in the PUBLISH benchmark).
    @inlinable
    public init<each Argument: RedisArgument>(_ name: String, _ arguments: repeat each Argument) {
        var total = name.utf8.count
        var count = 1
        for argument in repeat each arguments {
            total += argument.redisByteCount
            count += 1
        }
        self.init(name: name, count: count, bytes: total)
        var index = 1
        for argument in repeat each arguments {
            append(argument, at: &index)
        }
    }

    // Fixed-arity forms of the pack initialiser for the common short commands. Overload resolution prefers them,
    // and unlike a pack they specialise fully at the call site: no runtime pack metadata per command.

    @inlinable
    public init(_ name: String, _ first: some RedisArgument) {
        self.init(name: name, count: 2, bytes: name.utf8.count + first.redisByteCount)
        var index = 1
        append(first, at: &index)
    }

    @inlinable
    public init(_ name: String, _ first: some RedisArgument, _ second: some RedisArgument) {
        self.init(name: name, count: 3, bytes: name.utf8.count + first.redisByteCount + second.redisByteCount)
        var index = 1
        append(first, at: &index)
        append(second, at: &index)
    }

    @inlinable
    public init(
        _ name: String, _ first: some RedisArgument, _ second: some RedisArgument, _ third: some RedisArgument
    ) {
        self.init(
            name: name, count: 4,
            bytes: name.utf8.count + first.redisByteCount + second.redisByteCount + third.redisByteCount)
        var index = 1
        append(first, at: &index)
        append(second, at: &index)
        append(third, at: &index)
    }

    /// Storage sized for `count` arguments of `bytes` in total, holding the name; the caller appends the rest.
    @usableFromInline
    init(name: String, count: Int, bytes: Int) {
        self.count = count
        storage = Array(unsafeUninitializedCapacity: 4 * count + bytes) { buffer, initialized in
            buffer.baseAddress!.initialize(repeating: 0, count: 4 * count)
            initialized = 4 * count
        }
        var index = 0
        append(name, at: &index)
    }

    /// A command whose argument list is only known at run time.
    public init(_ name: String, arguments: [any RedisArgument]) {
        count = arguments.count + 1
        storage = []
        storage.reserveCapacity(arguments.reduce(4 * count + name.utf8.count) { $0 + $1.redisByteCount })
        storage.append(contentsOf: repeatElement(0, count: 4 * count))
        var index = 0
        append(name, at: &index)
        for argument in arguments {
            append(argument, at: &index)
        }
    }

    @inlinable
    mutating func append(_ argument: some RedisArgument, at index: inout Int) {
        let start = storage.count
        argument.appendRedisBytes(to: &storage)
        let length = UInt32(storage.count - start)
        storage[4 * index] = UInt8(truncatingIfNeeded: length)
        storage[4 * index + 1] = UInt8(truncatingIfNeeded: length >> 8)
        storage[4 * index + 2] = UInt8(truncatingIfNeeded: length >> 16)
        storage[4 * index + 3] = UInt8(truncatingIfNeeded: length >> 24)
        index += 1
    }

    private func length(of index: Int) -> Int {
        Int(storage[4 * index]) | Int(storage[4 * index + 1]) << 8 | Int(storage[4 * index + 2]) << 16
            | Int(storage[4 * index + 3]) << 24
    }

    /// The arguments (the name first) as slices of the storage.
    private var slices: [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = 4 * count
        for index in 0..<count {
            let end = start + length(of: index)
            result.append(storage[start..<end])
            start = end
        }
        return result
    }

    /// The command name as given (for logs and errors).
    public var name: String {
        String(decoding: storage[(4 * count)..<(4 * count + length(of: 0))], as: UTF8.self)
    }

    /// Appends the RESP encoding of this command to `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        let argc = count
        storage.withUnsafeBufferPointer { bytes in
            withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: argc) { argv in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: argc) { lengths in
                    let base = UnsafeRawPointer(bytes.baseAddress!)
                    var start = 4 * argc
                    for index in 0..<argc {
                        let length = length(of: index)
                        argv[index] = (base + start).assumingMemoryBound(to: CChar.self)
                        lengths[index] = length
                        start += length
                    }
                    // The sds form of redisFormatCommandArgv: the same RESP, with lengths formatted by hiredis's
                    // own sdscatfmt instead of libc's printf (which otherwise is the largest cost per command).
                    var target: sds? = nil
                    let length = redisFormatSdsCommandArgv(
                        &target, Int32(argc), argv.baseAddress, UnsafePointer(lengths.baseAddress))
                    guard length > 0, let encoded = target else {
                        // hiredis only fails here when malloc fails.
                        fatalError("redisFormatSdsCommandArgv failed to allocate \(argc) arguments")
                    }
                    defer { redisFreeSdsCommand(encoded) }
                    buffer.writeBytes(UnsafeRawBufferPointer(start: encoded, count: Int(length)))
                }
            }
        }
    }
}

extension RedisCommand: CustomStringConvertible {
    public var description: String {
        slices.map { slice in
            slice.count > 48 ? "<\(slice.count) bytes>" : String(decoding: slice, as: UTF8.self)
        }.joined(separator: " ")
    }
}

/// A value that can be sent as one command argument.
public protocol RedisArgument: Sendable {
    func appendRedisBytes(to storage: inout [UInt8])
    /// The number of bytes `appendRedisBytes` writes (used to size the storage once).
    var redisByteCount: Int { get }
}

extension RedisArgument {
    public var redisByteCount: Int {
        var bytes: [UInt8] = []
        appendRedisBytes(to: &bytes)
        return bytes.count
    }
}

extension String: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) { storage.append(contentsOf: utf8) }
    public var redisByteCount: Int { utf8.count }
}

extension Substring: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) { storage.append(contentsOf: utf8) }
    public var redisByteCount: Int { utf8.count }
}

extension Array: RedisArgument where Element == UInt8 {
    public func appendRedisBytes(to storage: inout [UInt8]) { storage.append(contentsOf: self) }
    public var redisByteCount: Int { count }
}

extension ByteBuffer: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) {
        withUnsafeReadableBytes { storage.append(contentsOf: $0) }
    }
    public var redisByteCount: Int { readableBytes }
}

extension Int: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) { Int64(self).appendRedisBytes(to: &storage) }
    public var redisByteCount: Int { Int64(self).redisByteCount }
}

extension Int64: RedisArgument {
    /// Decimal digits written straight into the storage (no intermediate String).
    public func appendRedisBytes(to storage: inout [UInt8]) {
        if self < 0 { storage.append(UInt8(ascii: "-")) }
        magnitude.appendRedisBytes(to: &storage)
    }
    public var redisByteCount: Int { (self < 0 ? 1 : 0) + magnitude.redisByteCount }
}

extension UInt64: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) {
        let start = storage.count
        var value = self
        repeat {
            storage.append(UInt8(ascii: "0") + UInt8(value % 10))
            value /= 10
        } while value > 0
        storage[start...].reverse()
    }
    public var redisByteCount: Int {
        var digits = 1
        var value = self
        while value >= 10 {
            value /= 10
            digits += 1
        }
        return digits
    }
}

extension Double: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) { storage.append(contentsOf: String(self).utf8) }
}
