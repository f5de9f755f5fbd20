/// Which Redis deployment a process talks to, parsed from one URL (`SSE_REDIS_URL`, `--redis-url`).
///
/// - `redis://…` and `unix://…`: one server (``RedisConfiguration``), exactly as before.
/// - `redis-sentinel://[[user]:password@]host[:port][,host[:port]…]/MASTER[/db][?sentinel_username=U&sentinel_password=P]`:
///   a Sentinel group. The hosts are the sentinels (port 26379 by default), the first path segment the name of the
///   monitored master; credentials before `@` and the database are the data servers', the sentinels' own (when they
///   have `requirepass`) come in the query. `redis+sentinel://` is accepted as the same scheme.
/// - `redis-cluster://[[user]:password@]host[:port][,host[:port]…]`: Redis Cluster seed nodes (port 6379 by default).
///   `redis+cluster://` is accepted as the same scheme.
///
/// Why this grammar: a list of `host:port` after the scheme is how Lettuce (`redis-sentinel://h1,h2`) and the Ruby,
/// Python and Go URL helpers for Sentinel spell a group, and the master name in the path (rather than Lettuce's
/// `#fragment`) keeps the URL free of a character that shells and `.env` files treat as a comment; the `+` form is
/// what several Python and Rust clients use. The data servers' and the sentinels' credentials are kept apart, since a
/// Sentinel group often runs with `requirepass` on the data servers only.
public enum RedisTopology: Sendable, Hashable {
    case single(RedisConfiguration)
    case sentinel(SentinelConfiguration)
    case cluster(ClusterSeeds)

    public init(url: String, connectTimeout: Duration = .seconds(5)) throws(RedisError) {
        if let scheme = Self.scheme(of: url, among: SentinelConfiguration.schemes) {
            self = .sentinel(try SentinelConfiguration(parsing: url, scheme: scheme, connectTimeout: connectTimeout))
        } else if let scheme = Self.scheme(of: url, among: ClusterSeeds.schemes) {
            self = .cluster(try ClusterSeeds(parsing: url, scheme: scheme, connectTimeout: connectTimeout))
        } else if url.hasPrefix("redis://") || url.hasPrefix("unix://") {
            self = .single(try RedisConfiguration(url: url, connectTimeout: connectTimeout))
        } else {
            throw .invalidURL(
                url,
                reason: "expected redis://host:port[/db], unix:///path/to/socket, "
                    + "redis-sentinel://host:port,…/master[/db] or redis-cluster://host:port,…")
        }
    }

    /// The URL with every password masked, for logs and errors.
    public var displayURL: String {
        switch self {
        case .single(let configuration): return configuration.displayURL
        case .sentinel(let configuration): return configuration.displayURL
        case .cluster(let seeds): return seeds.displayURL
        }
    }

    private static func scheme(of url: String, among schemes: [String]) -> String? {
        schemes.first { url.hasPrefix($0) }
    }
}

/// One `host:port` of a list in a Sentinel or Cluster URL.
public struct RedisHostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 host in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// The seed nodes of a Redis Cluster and the credentials of its nodes (a Cluster has only database 0).
public struct ClusterSeeds: Sendable, Hashable {
    static let schemes = ["redis-cluster://", "redis+cluster://"]

    public var seeds: [RedisHostPort]
    public var username: String?
    public var password: String?
    public var connectTimeout: Duration

    public init(
        seeds: [RedisHostPort], username: String? = nil, password: String? = nil, connectTimeout: Duration = .seconds(5)
    ) {
        self.seeds = seeds
        self.username = username
        self.password = password
        self.connectTimeout = connectTimeout
    }

    /// The configuration for one node of the cluster, with the cluster's credentials.
    public func node(_ node: RedisHostPort) -> RedisConfiguration {
        RedisConfiguration(
            endpoint: .tcp(host: node.host, port: node.port), username: username, password: password,
            connectTimeout: connectTimeout)
    }

    public var displayURL: String {
        "redis-cluster://\(URLParts.maskedCredentials(username, password))"
            + seeds.map(\.description).joined(separator: ",")
    }

    init(parsing url: String, scheme: String, connectTimeout: Duration) throws(RedisError) {
        let parts = try URLParts(url, scheme: scheme, defaultPort: 6379)
        if !parts.path.isEmpty {
            throw .invalidURL(url, reason: "a Redis Cluster URL has no path (a Cluster has only database 0)")
        }
        if let key = parts.query.first?.key {
            throw .invalidURL(url, reason: "unknown query parameter \"\(key)\" (a Redis Cluster URL takes none)")
        }
        self.init(
            seeds: parts.hosts, username: parts.username, password: parts.password, connectTimeout: connectTimeout)
    }
}
