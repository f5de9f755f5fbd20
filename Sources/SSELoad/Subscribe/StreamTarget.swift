import NIOCore

/// Where a load process opens its streams, from a URL such as `http://127.0.0.1:8080/sse?topic=s1`.
///
/// Only plain `http://` is supported (the benchmarks run on loopback). The host is resolved once, at start.
struct StreamTarget: Sendable {
    let url: String
    let address: SocketAddress
    /// `host:port` as written in the URL, for the `Host` header.
    let authority: String
    /// Path and query, e.g. `/sse?topic=s1`.
    let target: String

    init(url: String) throws {
        guard url.hasPrefix("http://") else {
            throw LoadError("URL \"\(url)\" is invalid: expected http://host:port/path")
        }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        let target = slash == rest.endIndex ? "/" : String(rest[slash...])
        let parts = authority.split(separator: ":", maxSplits: 1)
        guard let host = parts.first.map(String.init), !host.isEmpty else {
            throw LoadError("URL \"\(url)\" is invalid: no host")
        }
        let port: Int
        if parts.count == 2 {
            guard let value = Int(parts[1]), (1...65535).contains(value) else {
                throw LoadError("URL \"\(url)\" is invalid: port \"\(parts[1])\" is not a port number")
            }
            port = value
        } else {
            port = 80
        }
        self.url = url
        self.authority = authority
        self.target = target
        do {
            address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw LoadError("cannot resolve \"\(host)\": \(error)")
        }
    }

    /// The request every stream sends: a plain `GET` asking for an event stream, as `EventSource` does.
    /// `topicSuffix` is appended to the path and query (whose end is the topic, for the gateway, nchan and the
    /// floor), for streams that each have their own topic.
    func streamRequest(extraHeaders: [String], topicSuffix: String = "") -> ByteBuffer {
        var text =
            "GET \(target)\(topicSuffix) HTTP/1.1\r\nHost: \(authority)\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n"
        for header in extraHeaders { text += header + "\r\n" }
        text += "\r\n"
        return ByteBuffer(string: text)
    }
}
