/// A Redis 7 function library (Lua source starting with `#!lua name=<library>`), loaded with
/// `FUNCTION LOAD REPLACE` and called with `FCALL`.
public struct RedisFunctionLibrary: Sendable, Hashable {
    public var name: String
    public var source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }
}

extension RedisCommandRunner {
    /// Loads (or replaces) a function library; idempotent, so every process may do it at start.
    public func load(_ library: RedisFunctionLibrary) async throws {
        let reply = try await send(RedisCommand("FUNCTION", "LOAD", "REPLACE", library.source))
        guard reply.string == library.name else {
            throw RedisError.unexpectedReply(command: "FUNCTION LOAD", reply: "\(reply)")
        }
    }

    /// Calls a function; when Redis does not know it (a restart without persistence, a flush), loads `library`
    /// and calls once more.
    public func fcall(
        _ function: String, keys: [any RedisArgument] = [], arguments: [any RedisArgument] = [],
        loadingIfMissing library: RedisFunctionLibrary? = nil
    ) async throws -> RedisReply {
        let command = RedisCommand("FCALL", arguments: [function, keys.count] + keys + arguments)
        do {
            return try await send(command)
        } catch RedisError.server(let message) where library != nil && message.contains("Function not found") {
            try await load(library!)
            return try await send(command)
        }
    }
}
