import RedisClient
import Testing

@Suite("Topology URLs: one server, Sentinel, Cluster")
struct SentinelURLTests {
    @Test func aRedisOrUnixURLIsOneServerParsedAsBefore() throws {
        let tcp = "redis://:pw@h:7/2"
        #expect(try RedisTopology(url: tcp) == .single(try RedisConfiguration(url: tcp)))
        let unix = "unix:///s.sock?db=1"
        #expect(try RedisTopology(url: unix) == .single(try RedisConfiguration(url: unix)))
    }

    @Test func aSentinelURLNamesTheSentinelsTheMasterTheDatabaseAndBothCredentials() throws {
        let topology = try RedisTopology(
            url: "redis-sentinel://app:da%40ta@10.0.0.1:26380,[::1],sentinel-c/orders/3"
                + "?sentinel_username=watch&sentinel_password=s%2Fp")
        guard case .sentinel(let sentinel) = topology else {
            Issue.record("expected a Sentinel topology, got \(topology)")
            return
        }
        #expect(
            sentinel.sentinels == [
                RedisHostPort(host: "10.0.0.1", port: 26380), RedisHostPort(host: "::1", port: 26379),
                RedisHostPort(host: "sentinel-c", port: 26379),
            ])
        #expect(sentinel.masterName == "orders")
        #expect(sentinel.database == 3)
        #expect(sentinel.username == "app")
        #expect(sentinel.password == "da@ta")
        #expect(sentinel.sentinelUsername == "watch")
        #expect(sentinel.sentinelPassword == "s/p")
        #expect(
            topology.displayURL
                == "redis-sentinel://app:***@10.0.0.1:26380,[::1]:26379,sentinel-c:26379/orders/3"
                + "?sentinel_username=watch&sentinel_password=***")
        // The master takes the data credentials and database; a sentinel its own credentials and no database.
        let server = sentinel.server(RedisHostPort(host: "10.0.0.9", port: 6390))
        #expect(server.endpoint == .tcp(host: "10.0.0.9", port: 6390))
        #expect(server.password == "da@ta")
        #expect(server.database == 3)
        let one = sentinel.sentinel(sentinel.sentinels[0])
        #expect(one.username == "watch")
        #expect(one.password == "s/p")
        #expect(one.database == 0)
        #expect(sentinel.summary == "master \"orders\" via sentinels 10.0.0.1:26380,[::1]:26379,sentinel-c:26379")
    }

    @Test func thePlusSpellingAndTheDefaultsAreAccepted() throws {
        let topology = try RedisTopology(url: "redis+sentinel://127.0.0.1/m")
        #expect(
            topology
                == .sentinel(
                    SentinelConfiguration(sentinels: [RedisHostPort(host: "127.0.0.1", port: 26379)], masterName: "m")))
        #expect(topology.displayURL == "redis-sentinel://127.0.0.1:26379/m")
    }

    @Test func aClusterURLIsSeedsAndCredentialsOnly() throws {
        let topology = try RedisTopology(url: "redis-cluster://:pw@127.0.0.1:7000,127.0.0.1:7001,[::1]")
        #expect(
            topology
                == .cluster(
                    ClusterSeeds(
                        seeds: [
                            RedisHostPort(host: "127.0.0.1", port: 7000), RedisHostPort(host: "127.0.0.1", port: 7001),
                            RedisHostPort(host: "::1", port: 6379),
                        ], password: "pw")))
        #expect(topology.displayURL == "redis-cluster://:***@127.0.0.1:7000,127.0.0.1:7001,[::1]:6379")
        #expect(try RedisTopology(url: "redis+cluster://h").displayURL == "redis-cluster://h:6379")
    }

    @Test(arguments: [
        (
            "http://h:1",
            "expected redis://host:port[/db], unix:///path/to/socket, redis-sentinel://host:port,…/master[/db] "
                + "or redis-cluster://host:port,…"
        ),
        ("redis-sentinel://h:26379", "missing the master name: expected redis-sentinel://host:port,…/master[/db]"),
        ("redis-sentinel://h:26379/", "missing the master name: expected redis-sentinel://host:port,…/master[/db]"),
        ("redis-sentinel:///m", "missing host"),
        ("redis-sentinel://a,,b/m", "empty entry in the host list \"a,,b\""),
        ("redis-sentinel://a,:1/m", "missing host in \":1\""),
        ("redis-sentinel://a:0/m", "port \"0\" is not a number from 1 to 65535"),
        ("redis-sentinel://a:26379,b:x/m", "port \"x\" is not a number from 1 to 65535"),
        ("redis-sentinel://[::1/m", "unclosed \"[\" in IPv6 host"),
        ("redis-sentinel://[::1]x/m", "unexpected \"x\" after IPv6 host"),
        ("redis-sentinel://h/m/x", "database \"x\" is not a non-negative integer"),
        ("redis-sentinel://h/m/-1", "database \"-1\" is not a non-negative integer"),
        ("redis-sentinel://h/m/1/2", "unexpected \"/2\" after the database"),
        (
            "redis-sentinel://h/m?password=x",
            "unknown query parameter \"password\" (expected sentinel_password or sentinel_username)"
        ),
        ("redis-sentinel://:%4@h/m", "bad percent-escape in credentials"),
        ("redis-sentinel://h/m?sentinel_password=%FF", "percent-escapes in credentials are not UTF-8"),
        ("redis-cluster://", "missing host"),
        ("redis-cluster://h:7000/0", "a Redis Cluster URL has no path (a Cluster has only database 0)"),
        ("redis-cluster://h:7000?x=1", "unknown query parameter \"x\" (a Redis Cluster URL takes none)"),
        ("redis-cluster://h:70000", "port \"70000\" is not a number from 1 to 65535"),
        ("redis://h:0", "port \"0\" is not a number from 1 to 65535"),
    ])
    func aBadURLIsRefusedNamingWhatIsWrong(url: String, reason: String) {
        #expect(throws: RedisError.invalidURL(url, reason: reason)) { try RedisTopology(url: url) }
    }

    @Test func errorsAboutABadURLMaskEveryPassword() {
        let error = RedisError.invalidURL("redis-sentinel://u:secret@h/m/x?sentinel_password=hush&a=b", reason: "r")
        #expect("\(error)" == "invalid Redis URL \"redis-sentinel://u:***@h/m/x?sentinel_password=***&a=b\": r")
        let shorthand = RedisError.invalidURL("redis://secret@h:0", reason: "r")
        #expect("\(shorthand)" == "invalid Redis URL \"redis://***@h:0\": r")
        let unix = RedisError.invalidURL("unix:///s?password=secret&db=x", reason: "r")
        #expect("\(unix)" == "invalid Redis URL \"unix:///s?password=***&db=x\": r")
    }
}
