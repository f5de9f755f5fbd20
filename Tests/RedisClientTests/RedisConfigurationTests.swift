import RedisClient
import Testing

@Suite("Connection URLs")
struct RedisConfigurationTests {
    @Test func parsesHostPortAndDatabase() throws {
        let configuration = try RedisConfiguration(url: "redis://127.0.0.1:6380/2")
        #expect(configuration.endpoint == .tcp(host: "127.0.0.1", port: 6380))
        #expect(configuration.database == 2)
        #expect(configuration.password == nil)
        #expect(configuration.address == "127.0.0.1:6380")
    }

    @Test func defaultsPortAndDatabase() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration.endpoint == .tcp(host: "localhost", port: 6379))
        #expect(configuration.database == 0)
    }

    @Test func parsesPasswordUsernameAndPercentEscapes() throws {
        let plain = try RedisConfiguration(url: "redis://:s%40cret@h:1")
        #expect(plain.password == "s@cret")
        #expect(plain.username == nil)
        let acl = try RedisConfiguration(url: "redis://app:pw@h:1/3")
        #expect(acl.username == "app")
        #expect(acl.password == "pw")
        #expect(acl.database == 3)
        #expect(acl.displayURL == "redis://app:***@h:1/3")
        // Outside a form-encoded query a `+` is a plus sign, escaped or not; escapes decode to UTF-8.
        let plus = try RedisConfiguration(url: "redis://us%C3%A9r:a+b%2B@h:1")
        #expect(plus.username == "usér")
        #expect(plus.password == "a+b+")
    }

    @Test func parsesIPv6Hosts() throws {
        let configuration = try RedisConfiguration(url: "redis://[::1]:7000")
        #expect(configuration.endpoint == .tcp(host: "::1", port: 7000))
        #expect(configuration.address == "[::1]:7000")
    }

    @Test func parsesUnixSockets() throws {
        let configuration = try RedisConfiguration(url: "unix:///run/redis/redis.sock?db=4&password=x")
        #expect(configuration.endpoint == .unix(path: "/run/redis/redis.sock"))
        #expect(configuration.database == 4)
        #expect(configuration.password == "x")
    }

    @Test(arguments: [
        ("http://h:1", "expected redis://host:port[/db] or unix:///path/to/socket"),
        ("redis://h:0", "port \"0\" is not a number from 1 to 65535"),
        ("redis://h:x", "port \"x\" is not a number from 1 to 65535"),
        ("redis://h:1/a", "database \"a\" is not a non-negative integer"),
        ("redis://:1", "missing host"),
        ("unix://relative.sock", "expected an absolute socket path after unix://"),
        ("unix:///s.sock?colour=red", "unknown query parameter \"colour\" (expected db, password or username)"),
        ("redis://:s%4@h:1", "bad percent-escape in credentials"),
        ("redis://:%+F@h:1", "bad percent-escape in credentials"),
        ("redis://:%FF@h:1", "percent-escapes in credentials are not UTF-8"),
    ])
    func rejectsBadURLsNamingTheProblem(url: String, reason: String) {
        #expect(throws: RedisError.invalidURL(url, reason: reason)) { try RedisConfiguration(url: url) }
    }
}
