/// The proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`, `SSE_TRUSTED_PROXIES`), and the client
/// address of a request resolved through them.
///
/// `X-Forwarded-For` is written by whoever sends the request: a client can put any address in it. Only the part
/// appended by proxies we run can be believed, so the header counts only when the peer itself is one of them, and
/// then the client is the rightmost entry that is not one of them: every entry to its left was written by that
/// client (or by proxies of its own) and may be made up, e.g. a leftmost `1.2.3.4` sent to escape a limit. A
/// malformed entry on the trusted part of the chain means a proxy of ours wrote something we cannot read: the peer is
/// then the client, so a broken header costs the proxy's own budget, never someone else's.
///
/// Empty by default: with no proxy configured the peer is the client, whatever the header says.
public struct TrustedProxies: Sendable, Equatable {
    /// One trusted network: an address with a prefix length (a bare address is `/32` or `/128`).
    public struct Network: Sendable, Equatable, CustomStringConvertible {
        /// The network's address, host bits cleared.
        public let address: ClientAddress
        /// Leading bits that must match, of the 128 (an IPv4 `/8` is 104: its 96 mapped bits and 8).
        public let prefixLength: Int

        /// `10.0.0.0/8`, `127.0.0.1`, `::1`, `2001:db8::/32`; nil for anything else (host bits set are cleared).
        public init?(_ text: some StringProtocol) {
            let parts = Substring(text).split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let first = parts.first,
                let address = ClientAddress.parseIPv4(first) ?? ClientAddress.parseIPv6(first)
            else { return nil }
            let width = address.isIPv4 ? 32 : 128
            var length = width
            if parts.count == 2 {
                guard let given = Int(parts[1]), parts[1].allSatisfy(\.isNumber), (0...width).contains(given) else {
                    return nil
                }
                length = given
            }
            prefixLength = length + (128 - width)
            self.address = ClientAddress(bits: address.bits & Self.mask(prefixLength))
        }

        public func contains(_ candidate: ClientAddress) -> Bool {
            candidate.bits & Self.mask(prefixLength) == address.bits
        }

        public var description: String {
            "\(address)/\(address.isIPv4 ? prefixLength - 96 : prefixLength)"
        }

        static func mask(_ length: Int) -> UInt128 {
            length == 0 ? 0 : UInt128.max << (128 - length)
        }
    }

    public let networks: [Network]

    /// No proxy is trusted: the peer is always the client.
    public static let none = TrustedProxies(networks: [])

    public init(networks: [Network]) {
        self.networks = networks
    }

    /// Reads the setting's entries; the error names the first that is not an address or a CIDR.
    public init(parsing entries: [String]) throws(SettingError) {
        var networks: [Network] = []
        for entry in entries {
            guard let network = Network(entry) else { throw Self.invalidEntry(entry) }
            networks.append(network)
        }
        self.networks = networks
    }

    static func invalidEntry(_ entry: String) -> SettingError {
        SettingError(
            message: "SSE_TRUSTED_PROXIES entry \(HTTPFailure.quoted(entry)) is invalid: expected an IP address or a "
                + "CIDR such as 127.0.0.1, ::1 or 10.0.0.0/8")
    }

    public func contains(_ address: ClientAddress) -> Bool {
        networks.contains { $0.contains(address) }
    }

    /// The client a request is counted against.
    ///
    /// - Parameters:
    ///   - peer: the socket's remote address; nil when it has none (a Unix socket, an in-process test), and then
    ///     the request has no client address.
    ///   - forwardedFor: every `X-Forwarded-For` line of the request, in order (several lines are one list).
    /// - Returns: the peer when it is not trusted or the header is absent; otherwise the rightmost entry that is not
    ///   trusted, the leftmost when every entry is trusted, and the peer when an entry it reaches is malformed.
    public func clientAddress(peer: ClientAddress?, forwardedFor: [String]) -> ClientAddress? {
        guard let peer, contains(peer) else { return peer }
        var found: ClientAddress?
        for line in forwardedFor.reversed() {
            for entry in line.split(separator: ",", omittingEmptySubsequences: false).reversed() {
                guard let address = ClientAddress(entry) else { return peer }
                guard contains(address) else { return address }
                found = address
            }
        }
        return found ?? peer
    }
}
