/// What went wrong talking to Redis. Every case names what was expected, what was found, and where.
public enum RedisError: Error, Sendable, Hashable {
    /// The connection URL could not be parsed.
    case invalidURL(String, reason: String)
    /// Nothing listens at the address (ECONNREFUSED), or the Unix socket does not exist.
    case connectionRefused(address: String)
    /// The TCP connect or the handshake (AUTH, SELECT, PING) did not finish in time.
    case connectTimeout(address: String, milliseconds: Int64)
    /// Connecting failed for another reason (host not found, permission denied, …).
    case connectFailed(address: String, cause: String)
    /// This process could not even make the socket: out of file descriptors (EMFILE, ENFILE) or buffer memory
    /// (ENOBUFS, ENOMEM). Says nothing about the server.
    case outOfLocalResources(address: String, cause: String)
    /// AUTH was rejected, or the server demands a password that was not given; carries Redis's own text.
    case authenticationFailed(address: String, message: String)
    /// SELECT of the database in the URL was rejected.
    case selectFailed(address: String, database: Int, message: String)
    /// An error reply, with Redis's own text (`WRONGTYPE …`, `ERR unknown command …`).
    case server(message: String)
    /// The connection closed before the reply arrived; the command may or may not have run.
    case connectionClosed(address: String)
    /// The bytes from the server were not valid RESP.
    case protocolViolation(String)
    /// A reply had a different shape than the command promises.
    case unexpectedReply(command: String, reply: String)
    /// The command was not answered within the command timeout.
    case commandTimeout(address: String, command: String, milliseconds: Int64)
    /// No sentinel named a usable master: carries the master name and what each sentinel tried said.
    case sentinelFailed(masterName: String, reason: String)
}

extension RedisError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidURL(let url, let reason):
            return "invalid Redis URL \"\(URLParts.masked(url))\": \(reason)"
        case .connectionRefused(let address):
            return "cannot connect to Redis at \(address): connection refused"
        case .connectTimeout(let address, let milliseconds):
            return "cannot connect to Redis at \(address): timed out after \(milliseconds) ms"
        case .connectFailed(let address, let cause):
            return "cannot connect to Redis at \(address): \(cause)"
        case .outOfLocalResources(let address, let cause):
            return "cannot connect to Redis at \(address): \(cause) (this process is out of descriptors or memory)"
        case .authenticationFailed(let address, let message):
            return "Redis at \(address) rejected the credentials: \(message)"
        case .selectFailed(let address, let database, let message):
            return "Redis at \(address) rejected SELECT \(database): \(message)"
        case .server(let message):
            return message
        case .connectionClosed(let address):
            return "connection to Redis at \(address) closed before the reply arrived"
        case .protocolViolation(let message):
            return "Redis protocol error: \(message)"
        case .unexpectedReply(let command, let reply):
            return "unexpected reply to \(command): \(reply)"
        case .commandTimeout(let address, let command, let milliseconds):
            return "Redis at \(address) did not answer \(command) within \(milliseconds) ms"
        case .sentinelFailed(let masterName, let reason):
            return "cannot find the Redis master \"\(masterName)\" through the sentinels: \(reason)"
        }
    }
}
