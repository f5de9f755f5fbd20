/// A Redis Sentinel group: the sentinels to ask, the name of the master they monitor, and how to talk to each.
///
/// The data servers (the master and its replicas) take `username`/`password`/`database`; the sentinels take
/// `sentinelUsername`/`sentinelPassword` (nil when they run without `requirepass`, the usual case).
public struct SentinelConfiguration: Sendable, Hashable {
    static let schemes = ["redis-sentinel://", "redis+sentinel://"]

    public var sentinels: [RedisHostPort]
    public var masterName: String
    public var username: String?
    public var password: String?
    public var database: Int
    public var sentinelUsername: String?
    public var sentinelPassword: String?
    /// Limit for connecting to the master (TCP connect plus handshake). Each sentinel gets at most a second of it.
    public var connectTimeout: Duration

    public init(
        sentinels: [RedisHostPort], masterName: String, username: String? = nil, password: String? = nil,
        database: Int = 0, sentinelUsername: String? = nil, sentinelPassword: String? = nil,
        connectTimeout: Duration = .seconds(5)
    ) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.username = username
        self.password = password
        self.database = database
        self.sentinelUsername = sentinelUsername
        self.sentinelPassword = sentinelPassword
        self.connectTimeout = connectTimeout
    }

    /// How to reach one data server of the group (the master the sentinels named).
    public func server(_ address: RedisHostPort) -> RedisConfiguration {
        RedisConfiguration(
            endpoint: .tcp(host: address.host, port: address.port), username: username, password: password,
            database: database, connectTimeout: connectTimeout)
    }

    /// How to reach one sentinel: its own credentials, no database, a short timeout so a dead one is passed quickly.
    public func sentinel(_ address: RedisHostPort) -> RedisConfiguration {
        RedisConfiguration(
            endpoint: .tcp(host: address.host, port: address.port), username: sentinelUsername,
            password: sentinelPassword, connectTimeout: min(connectTimeout, .seconds(1)))
    }

    /// `master "NAME" via sentinels h1:p1,h2:p2`: what errors and logs name.
    public var summary: String {
        "master \"\(masterName)\" via sentinels \(sentinels.map(\.description).joined(separator: ","))"
    }

    public var displayURL: String {
        var text =
            "redis-sentinel://\(URLParts.maskedCredentials(username, password))"
            + sentinels.map(\.description).joined(separator: ",") + "/\(masterName)"
        if database != 0 { text += "/\(database)" }
        var query: [String] = []
        if let sentinelUsername { query.append("sentinel_username=\(sentinelUsername)") }
        if sentinelPassword != nil { query.append("sentinel_password=***") }
        if !query.isEmpty { text += "?" + query.joined(separator: "&") }
        return text
    }

    init(parsing url: String, scheme: String, connectTimeout: Duration) throws(RedisError) {
        func fail(_ reason: String) -> RedisError { .invalidURL(url, reason: reason) }
        let parts = try URLParts(url, scheme: scheme, defaultPort: 26379)
        let segments = parts.path.split(separator: "/", omittingEmptySubsequences: false)
        guard let name = segments.first, !name.isEmpty else {
            throw fail("missing the master name: expected redis-sentinel://host:port,…/master[/db]")
        }
        var database = 0
        if segments.count > 1 {
            let text = segments[1]
            guard let value = Int(text), value >= 0 else {
                throw fail("database \"\(text)\" is not a non-negative integer")
            }
            database = value
        }
        if segments.count > 2 {
            throw fail("unexpected \"/\(segments[2...].joined(separator: "/"))\" after the database")
        }
        self.init(
            sentinels: parts.hosts, masterName: String(name), username: parts.username, password: parts.password,
            database: database, connectTimeout: connectTimeout)
        for (key, value) in parts.query {
            switch key {
            case "sentinel_password": sentinelPassword = value
            case "sentinel_username": sentinelUsername = value
            default:
                throw fail("unknown query parameter \"\(key)\" (expected sentinel_password or sentinel_username)")
            }
        }
    }
}
