#if canImport(Glibc)
    import Glibc
#endif

/// The IP address a request is counted against by the limits per client: the peer's, or the one a trusted proxy
/// named in `X-Forwarded-For` (``TrustedProxies/clientAddress(peer:forwardedFor:)``).
///
/// Held as 128 bits, an IPv4 address as its IPv4-mapped form `::ffff:a.b.c.d`, so one comparison and one CIDR match
/// serve both families, and `127.0.0.1` seen on a dual-stack socket as `::ffff:127.0.0.1` is the same client. Text is
/// parsed with `inet_pton`, the kernel's own reading of addresses, and written back in its canonical form
/// (`inet_ntop`), so two spellings of one IPv6 address (`::1`, `0:0::1`) are one key in the limit tables.
public struct ClientAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address in network order, most significant bits first.
    public let bits: UInt128

    public init(bits: UInt128) {
        self.bits = bits
    }

    /// `::ffff:0:0/96`: where the IPv4 addresses live among the 128-bit ones.
    static let mappedPrefix: UInt128 = 0xffff << 32

    /// An IPv4 address (or an IPv4-mapped IPv6 one).
    public var isIPv4: Bool { bits >> 32 == 0xffff }

    /// Reads an address as `X-Forwarded-For` and socket addresses write it: `192.0.2.7`, `2001:db8::1`, or either
    /// with a port (`192.0.2.7:4711`, `[2001:db8::1]:4711`, as some proxies append). Spaces around it are ignored.
    /// Anything else, including zone ids (`fe80::1%eth0`) and `unknown`, is nil: no address to count against.
    public init?(_ text: some StringProtocol) {
        var text = Substring(text)
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        if text.first == "[" {
            // `[v6]` or `[v6]:port`.
            guard let close = text.firstIndex(of: "]") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || (rest.first == ":" && Self.isPort(rest.dropFirst())) else { return nil }
            text = text[text.index(after: text.startIndex)..<close]
            guard let address = Self.parseIPv6(text) else { return nil }
            self = address
        } else if let address = Self.parseIPv4(text) ?? Self.parseIPv6(text) {
            self = address
        } else if let colon = text.lastIndex(of: ":"), Self.isPort(text[text.index(after: colon)...]),
            let address = Self.parseIPv4(text[..<colon])
        {
            // `a.b.c.d:port`; a colon in a bare IPv6 address is part of it and was read above.
            self = address
        } else {
            return nil
        }
    }

    /// `a.b.c.d` for an IPv4 address, the canonical (RFC 5952) form otherwise.
    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if isIPv4 {
            var address = in_addr(s_addr: UInt32(truncatingIfNeeded: bits).bigEndian)
            guard inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        } else {
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { raw in
                for index in 0..<16 { raw[index] = UInt8(truncatingIfNeeded: bits >> (8 * (15 - index))) }
            }
            guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func isPort(_ text: Substring) -> Bool {
        !text.isEmpty && text.count <= 5 && text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber)
    }

    /// Dotted quad only: `inet_pton(AF_INET)` takes no shorthand such as `10.1` or octal, unlike `inet_aton`.
    static func parseIPv4(_ text: Substring) -> ClientAddress? {
        var address = in_addr()
        guard inet_pton(AF_INET, String(text), &address) == 1 else { return nil }
        return ClientAddress(bits: mappedPrefix | UInt128(UInt32(bigEndian: address.s_addr)))
    }

    static func parseIPv6(_ text: Substring) -> ClientAddress? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, String(text), &address) == 1 else { return nil }
        let bits = withUnsafeBytes(of: &address) { raw in
            raw.reduce(UInt128(0)) { ($0 << 8) | UInt128($1) }
        }
        return ClientAddress(bits: bits)
    }
}
