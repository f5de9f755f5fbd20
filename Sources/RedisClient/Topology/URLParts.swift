import PercentDecoding

/// The pieces of a multi-host Redis URL: `scheme://[[user]:password@]host[:port][,host[:port]…][/path][?query]`.
///
/// As in any URL, the authority ends at the first `/` or `?`, and credentials end at its last `@`; a `/`, `?`, `@`
/// or `,` inside a user name or password is written percent-escaped.
struct URLParts {
    var username: String?
    var password: String?
    var hosts: [RedisHostPort] = []
    /// The path after the authority without its leading `/` (empty when there is none).
    var path: Substring = ""
    /// Query parameters in order, values percent-decoded.
    var query: [(key: String, value: String)] = []

    init(_ url: String, scheme: String, defaultPort: Int) throws(RedisError) {
        func fail(_ reason: String) -> RedisError { .invalidURL(url, reason: reason) }
        var rest = Substring(url.dropFirst(scheme.count))
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let value = parts.count > 1 ? try Self.decoded(parts[1], url: url) : ""
                query.append((String(parts[0]), value))
            }
            rest = rest[..<mark]
        }
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : try Self.decoded(user, url: url)
                password = try Self.decoded(credentials[credentials.index(after: colon)...], url: url)
            } else {
                password = try Self.decoded(credentials, url: url)
            }
        }
        guard !rest.isEmpty else { throw fail("missing host") }
        for entry in rest.split(separator: ",", omittingEmptySubsequences: false) {
            guard !entry.isEmpty else { throw fail("empty entry in the host list \"\(rest)\"") }
            hosts.append(try Self.hostPort(entry, defaultPort: defaultPort, inList: true, fail: fail))
        }
    }

    /// `host[:port]` or `[ipv6][:port]`; `inList` names the entry in the message when a host is missing (one of a
    /// comma-separated list).
    static func hostPort(
        _ entry: Substring, defaultPort: Int, inList: Bool, fail: (String) -> RedisError
    ) throws(RedisError) -> RedisHostPort {
        var host: Substring
        var portText: Substring?
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { throw fail("unclosed \"[\" in IPv6 host") }
            host = entry[entry.index(after: entry.startIndex)..<close]
            let after = entry[entry.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw fail("unexpected \"\(after)\" after IPv6 host")
            }
        } else if let colon = entry.lastIndex(of: ":") {
            host = entry[..<colon]
            portText = entry[entry.index(after: colon)...]
        } else {
            host = entry
        }
        guard !host.isEmpty else { throw fail(inList ? "missing host in \"\(entry)\"" : "missing host") }
        var port = defaultPort
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw fail("port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = value
        }
        return RedisHostPort(host: String(host), port: port)
    }

    /// A user name, password or query value with its percent-escapes decoded (`+` stays a plus sign).
    static func decoded(_ text: Substring, url: String) throws(RedisError) -> String {
        do {
            return try PercentDecoder.decode(text.utf8, plus: .literal)
        } catch {
            switch error {
            case .malformedEscape: throw .invalidURL(url, reason: "bad percent-escape in credentials")
            case .notUTF8: throw .invalidURL(url, reason: "percent-escapes in credentials are not UTF-8")
            }
        }
    }

    /// `user:***@`, `:***@` or nothing, for display URLs.
    static func maskedCredentials(_ username: String?, _ password: String?) -> String {
        password == nil ? "" : "\(username ?? ""):***@"
    }

    /// Any Redis URL as typed, with the password before `@` and every `password`/`sentinel_password` query value
    /// replaced by `***`: what an error about a URL that did not parse may show.
    static func masked(_ url: String) -> String {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return url }
        let afterScheme = url.index(colon, offsetBy: 3)
        var result = String(url[..<afterScheme])
        var rest = url[afterScheme...]
        var query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            let credentials = rest[..<at]
            if let colon = credentials.firstIndex(of: ":") {
                result += credentials[...colon] + "***"
            } else {
                result += "***"
            }
            rest = rest[at...]
        }
        result += rest
        if let query {
            let pairs = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
                let key = pair.prefix { $0 != "=" }
                let isSecret = key == "password" || key.hasSuffix("_password")
                return isSecret && pair.contains("=") ? "\(key)=***" : String(pair)
            }
            result += "?" + pairs.joined(separator: "&")
        }
        return result
    }
}
