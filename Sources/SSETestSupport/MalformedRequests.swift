import LocalRedis

/// Generated hostile HTTP/1.1 requests for the fuzz-style tests of the servers' front doors: malformed request
/// lines and headers, smuggling forms, oversized heads, bad and unfinished bodies, truncated requests and raw
/// garbage, all from a fixed seed so a failing case can be replayed.
///
/// Each request is one connection's bytes; the server must answer it (any status below 500) or close the
/// connection within its deadlines, and go on serving everyone else.
public struct MalformedRequests: Sequence, IteratorProtocol {
    /// One generated request and the family it comes from (named in failures).
    public struct Request: Sendable {
        public var family: String
        public var bytes: [UInt8]
    }

    private var random: SeededGenerator
    private var remaining: Int
    private let paths: [String]

    /// `count` requests from `seed`; `paths` are the routes of the server under test (valid ones get mangled too).
    public init(count: Int, seed: UInt64, paths: [String]) {
        random = SeededGenerator(seed: seed)
        remaining = count
        self.paths = paths
    }

    public mutating func next() -> Request? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        let families: [(String, (inout MalformedRequests) -> String)] = [
            ("request line", { $0.badRequestLine() }),
            ("headers", { $0.badHeaders() }),
            ("smuggling", { $0.smuggling() }),
            ("oversized head", { $0.oversizedHead() }),
            ("body", { $0.badBody() }),
            ("valid", { $0.valid() }),
        ]
        let pick = Int.random(in: 0..<(families.count + 2), using: &random)
        if pick == families.count {  // garbage bytes
            let bytes = (0..<Int.random(in: 1...600, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            return Request(family: "garbage", bytes: bytes)
        }
        if pick == families.count + 1 {  // a valid-looking request cut anywhere
            var text = Array(valid().utf8)
            text = Array(text.prefix(Int.random(in: 1..<text.count, using: &random)))
            return Request(family: "truncated", bytes: text)
        }
        let (family, make) = families[pick]
        return Request(family: family, bytes: Array(make(&self).utf8))
    }

    private mutating func one<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &random)] }

    private mutating func path() -> String {
        let base = one(paths)
        let mangle = one([
            "", "?topic=a%00b", "?topic=" + String(repeating: "x", count: 200), "?topic=a&topic=a&dialect=zz",
            "/../etc/passwd", "%2e%2e/", "?lastEventId=1-2-3", "?topic=%ff%fe", "#frag", "?topic=ok&heartbeat=loud",
            "?" + String(repeating: "&", count: 300), "?topic=a b",
        ])
        return base + mangle
    }

    private mutating func valid() -> String {
        "\(one(["GET", "GET", "HEAD", "OPTIONS", "POST"])) \(path()) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + one(["", "Origin: https://evil.example\r\n", "Last-Event-ID: 1-0\r\n", "Connection: close\r\n"]) + "\r\n"
    }

    private mutating func badRequestLine() -> String {
        let line = one([
            "GET\(path()) HTTP/1.1", "GET  \(path()) HTTP/1.1", "G@T \(path()) HTTP/1.1", "GET \(path()) HTTP/9.9",
            "GET \(path()) HTTP/1", "GET \(path())", "\(path()) HTTP/1.1", "GET \(path()) HTTP/1.1 extra",
            "GET http://evil.example\(path()) HTTP/1.1", "get \(path()) http/1.1", "GET \u{7}\(path()) HTTP/1.1",
            String(repeating: "A", count: 20_000) + " / HTTP/1.1", "CONNECT 127.0.0.1:6379 HTTP/1.1",
        ])
        return line + one(["\r\n", "\n", "\r"]) + "Host: 127.0.0.1\r\n\r\n"
    }

    private mutating func badHeaders() -> String {
        let headers = one([
            "", "Host: a\r\nHost: b\r\n", "Host 127.0.0.1\r\n", "Host: 127.0.0.1\r\n folded: continuation\r\n",
            "Host: 127.0.0.1\r\nX: \u{0}\r\n", "Host: 127.0.0.1\r\n: no-name\r\n", "Host: 127.0.0.1\r\nBad Name: v\r\n",
            "Host: 127.0.0.1\r\nContent-Length: abc\r\n", "Host: 127.0.0.1\r\nContent-Length: -1\r\n",
            "Host: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n", "Host: \r\n",
            "Host: 127.0.0.1\r\nLast-Event-ID: \(String(repeating: "9", count: 400))\r\n",
            "Host: 127.0.0.1\r\nOrigin: \r\n", "Host: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n",
        ])
        return "GET \(path()) HTTP/1.1\r\n" + headers + "\r\n"
    }

    private mutating func smuggling() -> String {
        let head = one([
            "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
            "Transfer-Encoding: chunked, identity\r\n", "Transfer-Encoding: xchunked\r\n",
            "Transfer-Encoding : chunked\r\n", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        ])
        let body = one([
            "0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "5\r\nabcde\r\n0\r\n\r\n", "zz\r\n", "1\r\n",
        ])
        return "POST \(path()) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head + "\r\n" + body
    }

    private mutating func oversizedHead() -> String {
        let size = one([17_000, 40_000, 100_000])
        return one([
            "GET \(path())?\(String(repeating: "q", count: size)) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            "GET \(path()) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: \(String(repeating: "v", count: size))\r\n\r\n",
            "GET \(path()) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + String(repeating: "X-Many: 1\r\n", count: size / 11)
                + "\r\n",
        ])
    }

    private mutating func badBody() -> String {
        one([
            "POST \(path()) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nshort",
            "POST \(path()) HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            "POST \(path()) HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
            "POST \(path()) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999999\r\n\r\n"
                + String(repeating: "b", count: 70_000),
            "POST \(path()) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: 9\r\n\r\n%zz=%%&a=",
        ])
    }
}
