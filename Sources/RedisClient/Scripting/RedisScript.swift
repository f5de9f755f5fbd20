import Synchronization

/// A Lua script run with `EVALSHA`; when Redis answers `NOSCRIPT` (its script cache was emptied by a restart or
/// `SCRIPT FLUSH`), the script is loaded again and the call repeated once.
public final class RedisScript: Sendable {
    public let source: String
    private let sha = Mutex<String?>(nil)

    public init(_ source: String) {
        self.source = source
    }

    /// The SHA1 Redis reported for the script, once loaded.
    public var loadedSHA: String? { sha.withLock { $0 } }

    fileprivate func load(using runner: some RedisCommandRunner) async throws -> String {
        let reply = try await runner.send(RedisCommand("SCRIPT", "LOAD", source))
        guard let digest = reply.string else {
            throw RedisError.unexpectedReply(command: "SCRIPT LOAD", reply: "\(reply)")
        }
        sha.withLock { $0 = digest }
        return digest
    }
}

extension RedisCommandRunner {
    public func evaluate(
        _ script: RedisScript, keys: [any RedisArgument] = [], arguments: [any RedisArgument] = []
    ) async throws -> RedisReply {
        var digest: String
        if let known = script.loadedSHA { digest = known } else { digest = try await script.load(using: self) }
        do {
            return try await send(RedisCommand("EVALSHA", arguments: [digest, keys.count] + keys + arguments))
        } catch RedisError.server(let message) where message.hasPrefix("NOSCRIPT") {
            digest = try await script.load(using: self)
            return try await send(RedisCommand("EVALSHA", arguments: [digest, keys.count] + keys + arguments))
        }
    }
}
