import ServerSupport
import Testing

/// How a request's client address is read and resolved through trusted proxies: the table of what each peer and
/// `X-Forwarded-For` resolve to is the rule the limits per client rely on.
@Suite("Client addresses through trusted proxies")
struct ClientAddressTests {
    @Test(arguments: [
        ("192.0.2.7", "192.0.2.7"),
        (" 192.0.2.7 ", "192.0.2.7"),
        ("192.0.2.7:4711", "192.0.2.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0:0::0001", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::1", "::1"),
        ("::ffff:127.0.0.1", "127.0.0.1"),
    ])
    func addressesAreReadInEveryFormProxiesWriteAndShownCanonically(text: String, shown: String) throws {
        let address = try #require(ClientAddress(text))
        #expect(address.description == shown)
    }

    @Test(arguments: [
        "", "unknown", "10.1", "010.0.0.1", "256.0.0.1", "1.2.3.4.5", "192.0.2.7:", "192.0.2.7:123456", "[::1",
        "[::1]x", "fe80::1%eth0", "2001:db8::1::2", "::1]", "example.com", String(repeating: "1", count: 70),
    ])
    func malformedAddressesAreNotRead(text: String) {
        #expect(ClientAddress(text) == nil, "\(text.debugDescription)")
    }

    @Test func anIPv4AddressAndItsMappedIPv6FormAreOneClient() throws {
        #expect(ClientAddress("10.0.0.1") == ClientAddress("::ffff:10.0.0.1"))
        #expect(try #require(ClientAddress("10.0.0.1")).isIPv4)
        #expect(try !#require(ClientAddress("::1")).isIPv4)
    }

    @Test func networksMatchTheirPrefixInBothFamilies() throws {
        let tens = try #require(TrustedProxies.Network("10.0.0.0/8"))
        #expect(tens.description == "10.0.0.0/8")
        #expect(tens.contains(try #require(ClientAddress("10.255.0.3"))))
        #expect(!tens.contains(try #require(ClientAddress("11.0.0.1"))))
        #expect(tens.contains(try #require(ClientAddress("::ffff:10.1.2.3"))))
        #expect(!tens.contains(try #require(ClientAddress("::a01:203"))), "an IPv6 address is not in an IPv4 net")

        let host = try #require(TrustedProxies.Network("127.0.0.1"))
        #expect(host.description == "127.0.0.1/32")
        #expect(host.contains(try #require(ClientAddress("127.0.0.1"))))
        #expect(!host.contains(try #require(ClientAddress("127.0.0.2"))))

        let v6 = try #require(TrustedProxies.Network("2001:db8:abcd::/48"))
        #expect(v6.contains(try #require(ClientAddress("2001:db8:abcd:12::1"))))
        #expect(!v6.contains(try #require(ClientAddress("2001:db8:abce::1"))))
        #expect(try #require(TrustedProxies.Network("::1")).description == "::1/128")
        #expect(try #require(TrustedProxies.Network("10.9.8.7/8")).description == "10.0.0.0/8", "host bits cleared")
        let everything = try #require(TrustedProxies.Network("0.0.0.0/0"))
        #expect(everything.contains(try #require(ClientAddress("203.0.113.1"))))
        #expect(!everything.contains(try #require(ClientAddress("::1"))))
    }

    @Test(arguments: ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/8/8", "[::1]", "localhost", ""])
    func badNetworksAreRefusedWithTheEntryNamed(entry: String) {
        #expect(TrustedProxies.Network(entry) == nil)
        #expect(throws: SettingError.self) { try TrustedProxies(parsing: ["127.0.0.1", entry]) }
        do {
            _ = try TrustedProxies(parsing: [entry])
        } catch {
            #expect(
                error.message
                    == "SSE_TRUSTED_PROXIES entry \(entry.debugDescription) is invalid: expected an IP address or a "
                    + "CIDR such as 127.0.0.1, ::1 or 10.0.0.0/8")
        }
    }

    /// Each row: the peer, the `X-Forwarded-For` lines, the client counted.
    static let resolutions: [(peer: String?, forwardedFor: [String], client: String?, why: String)] = [
        ("198.51.100.9", ["203.0.113.5"], "198.51.100.9", "an untrusted peer's header is ignored"),
        ("127.0.0.1", [], "127.0.0.1", "a trusted peer without the header is the client"),
        ("127.0.0.1", ["203.0.113.5"], "203.0.113.5", "nginx names its client"),
        ("127.0.0.1", ["6.6.6.6, 203.0.113.5"], "203.0.113.5", "a spoofed leftmost entry is passed over"),
        ("127.0.0.1", ["6.6.6.6", "203.0.113.5"], "203.0.113.5", "two header lines are one list"),
        ("127.0.0.1", ["203.0.113.5, 10.1.1.1"], "203.0.113.5", "a chain of trusted proxies is walked"),
        ("::1", ["2001:db8::7, 10.2.2.2"], "2001:db8::7", "IPv6 peer and client"),
        ("127.0.0.1", ["10.1.1.1, 10.2.2.2"], "10.1.1.1", "all trusted: the leftmost"),
        ("127.0.0.1", ["203.0.113.5, bogus"], "127.0.0.1", "a malformed entry on the trusted side: the peer"),
        ("127.0.0.1", ["bogus, 203.0.113.5"], "203.0.113.5", "a malformed entry left of the client is never read"),
        ("127.0.0.1", [""], "127.0.0.1", "an empty header: the peer"),
        ("127.0.0.1", ["203.0.113.5,"], "127.0.0.1", "an empty entry: the peer"),
        ("127.0.0.1", [" 203.0.113.5:5555 "], "203.0.113.5", "a port is dropped"),
        (nil, ["203.0.113.5"], nil, "no IP peer: no client address"),
        ("::ffff:127.0.0.1", ["203.0.113.5"], "203.0.113.5", "a mapped peer is its IPv4 address"),
    ]

    @Test func theClientIsTheRightmostEntryNotItselfATrustedProxy() throws {
        let trusted = try TrustedProxies(parsing: ["127.0.0.1/32", "::1", "10.0.0.0/8"])
        for row in Self.resolutions {
            let peer = try row.peer.map { try #require(ClientAddress($0)) }
            let client = trusted.clientAddress(peer: peer, forwardedFor: row.forwardedFor)
            #expect(client?.description == row.client, "\(row.why)")
        }
    }

    @Test func withNoTrustedProxyThePeerIsAlwaysTheClient() throws {
        let peer = try #require(ClientAddress("127.0.0.1"))
        #expect(TrustedProxies.none.clientAddress(peer: peer, forwardedFor: ["203.0.113.5"]) == peer)
        #expect(try TrustedProxies(parsing: []) == .none)
    }
}
