import PercentDecoding

/// Where and how to connect to Redis, parsed from a URL.
///
/// Accepted forms:
/// - `redis://[[username]:password@]host[:port][/db]` — port 6379 and db 0 by default; IPv6 hosts in brackets.
/// - `unix:///path/to/redis.sock[?db=N&password=P&username=U]`.
/// Percent-escapes in the username and password are decoded (`PercentDecoder`; `+` stays a plus sign).
public struct RedisConfiguration: Sendable, Hashable {
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var endpoint: Endpoint
    /// ACL user name for `AUTH username password`; nil uses `AUTH password` (the default user).
    public var username: String?
    public var password: String?
    /// Logical database selected after connecting (0 by default).
    public var database: Int
    /// Limit for the TCP connect plus the handshake (AUTH, SELECT, PING). Default 5 s.
    public var connectTimeout: Duration
    /// The URL this configuration was parsed from, with the password masked (for logs and errors).
    public var displayURL: String {
        var text: String
        switch endpoint {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            let credentials = password == nil ? "" : "\(username ?? ""):***@"
            text = "redis://\(credentials)\(shownHost):\(port)"
            if database != 0 { text += "/\(database)" }
        case .unix(let path):
            text = "unix://\(path)"
            if database != 0 { text += "?db=\(database)" }
        }
        return text
    }

    /// The address errors name: `host:port` or the socket path.
    public var address: String {
        switch endpoint {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return path
        }
    }

    public init(
        endpoint: Endpoint, username: String? = nil, password: String? = nil, database: Int = 0,
        connectTimeout: Duration = .seconds(5)
    ) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
    }

    public init(url: String, connectTimeout: Duration = .seconds(5)) throws(RedisError) {
        self = try Self.parse(url)
        self.connectTimeout = connectTimeout
    }
}

extension RedisConfiguration {
    private static func parse(_ url: String) throws(RedisError) -> RedisConfiguration {
        func fail(_ reason: String) -> RedisError { .invalidURL(url, reason: reason) }

        if url.hasPrefix("unix://") {
            var rest = Substring(url.dropFirst("unix://".count))
            var query: Substring = ""
            if let mark = rest.firstIndex(of: "?") {
                query = rest[rest.index(after: mark)...]
                rest = rest[..<mark]
            }
            guard rest.hasPrefix("/") else { throw fail("expected an absolute socket path after unix://") }
            var configuration = RedisConfiguration(endpoint: .unix(path: String(rest)))
            for pair in query.split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(parts[0])
                let value = parts.count > 1 ? try percentDecoded(parts[1], url: url) : ""
                switch key {
                case "db", "database":
                    guard let database = Int(value), database >= 0 else {
                        throw fail("database \"\(value)\" is not a non-negative integer")
                    }
                    configuration.database = database
                case "password": configuration.password = value
                case "username", "user": configuration.username = value
                default: throw fail("unknown query parameter \"\(key)\" (expected db, password or username)")
                }
            }
            return configuration
        }

        guard url.hasPrefix("redis://") else {
            throw fail("expected redis://host:port[/db] or unix:///path/to/socket")
        }
        var rest = Substring(url.dropFirst("redis://".count))
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let value = Int(path), value >= 0 else {
                    throw fail("database \"\(path)\" is not a non-negative integer")
                }
                database = value
            }
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : try percentDecoded(user, url: url)
                password = try percentDecoded(credentials[credentials.index(after: colon)...], url: url)
            } else {
                // redis://password@host is a common shorthand for the default user.
                password = try percentDecoded(credentials, url: url)
            }
        }
        let address = try URLParts.hostPort(rest, defaultPort: 6379, inList: false, fail: fail)
        return RedisConfiguration(
            endpoint: .tcp(host: address.host, port: address.port), username: username, password: password,
            database: database)
    }

    /// A user name, password or query value with its percent-escapes decoded (`+` is itself, as everywhere in a URL
    /// outside a form-encoded query).
    private static func percentDecoded(_ text: Substring, url: String) throws(RedisError) -> String {
        try URLParts.decoded(text, url: url)
    }
}
