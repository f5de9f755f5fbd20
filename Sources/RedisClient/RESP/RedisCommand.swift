import CHiredis
import NIOCore

/// A Redis command: its name and binary-safe arguments, kept in one contiguous byte array.
///
/// Arguments are bytes, never interpolated text, so values with NUL, CR, LF or invalid UTF-8 travel unchanged.
/// The wire encoding is produced by hiredis's `redisFormatCommandArgv` when the command is written.
public struct RedisCommand: Sendable, Hashable {
    /// Every argument (the name first), back to back.
    @usableFromInline var storage: [UInt8]
    /// The end offset of each argument within `storage`.
    @usableFromInline var ends: [Int]

    public init(_ name: String, _ arguments: any RedisArgument...) {
        self.init(name, arguments: arguments)
    }

    public init(_ name: String, arguments: [any RedisArgument]) {
        storage = []
        ends = []
        ends.reserveCapacity(arguments.count + 1)
        storage.append(contentsOf: name.utf8)
        ends.append(storage.count)
        for argument in arguments {
            argument.appendRedisBytes(to: &storage)
            ends.append(storage.count)
        }
    }

    /// The command name as given (for logs and errors).
    public var name: String {
        String(decoding: storage[0..<ends[0]], as: UTF8.self)
    }

    public var argumentCount: Int { ends.count - 1 }

    /// Appends the RESP encoding of this command to `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        let argc = ends.count
        storage.withUnsafeBufferPointer { bytes in
            withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: argc) { argv in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: argc) { lengths in
                    let base = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                    var start = 0
                    for index in 0..<argc {
                        argv[index] = (base + start).assumingMemoryBound(to: CChar.self)
                        lengths[index] = ends[index] - start
                        start = ends[index]
                    }
                    var target: UnsafeMutablePointer<CChar>? = nil
                    let length = redisFormatCommandArgv(
                        &target, Int32(argc), argv.baseAddress, UnsafePointer(lengths.baseAddress))
                    guard length > 0, let encoded = target else {
                        // hiredis only fails here when malloc fails.
                        fatalError("redisFormatCommandArgv failed to allocate \(argc) arguments")
                    }
                    defer { redisFreeCommand(encoded) }
                    buffer.writeBytes(UnsafeRawBufferPointer(start: encoded, count: Int(length)))
                }
            }
        }
    }
}

extension RedisCommand: CustomStringConvertible {
    public var description: String {
        var parts: [String] = []
        var start = 0
        for end in ends {
            let slice = storage[start..<end]
            parts.append(slice.count > 48 ? "<\(slice.count) bytes>" : String(decoding: slice, as: UTF8.self))
            start = end
        }
        return parts.joined(separator: " ")
    }
}

/// A value that can be sent as one command argument.
public protocol RedisArgument: Sendable {
    func appendRedisBytes(to storage: inout [UInt8])
}

extension String: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) { storage.append(contentsOf: utf8) }
}

extension Substring: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) { storage.append(contentsOf: utf8) }
}

extension Array: RedisArgument where Element == UInt8 {
    public func appendRedisBytes(to storage: inout [UInt8]) { storage.append(contentsOf: self) }
}

extension ByteBuffer: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) {
        withUnsafeReadableBytes { storage.append(contentsOf: $0) }
    }
}

extension Int: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) { storage.append(contentsOf: String(self).utf8) }
}

extension Int64: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) { storage.append(contentsOf: String(self).utf8) }
}

extension UInt64: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) { storage.append(contentsOf: String(self).utf8) }
}

extension Double: RedisArgument {
    public func appendRedisBytes(to storage: inout [UInt8]) { storage.append(contentsOf: String(self).utf8) }
}
