import Logging
import ServerSupport

/// Settings of the publisher service (`sse-publisher`); each has one key, flag, environment variable and default
/// (``PublisherSettings``, ``SharedSettings``, the README's table), resolved by ``init(reader:)``.
public struct PublisherConfiguration: Sendable {
    /// Address to listen on.
    public var host = SharedSettings.host.defaultValue
    /// Port to listen on; `0` picks a free one (the log line `listening` names it).
    public var port = PublisherSettings.port.defaultValue
    /// Where the board's model lives and where events are published.
    public var redisURL = SharedSettings.redisURL.defaultValue
    /// Bearer token `POST /publish` requires; nil (or empty) disables the publish API, which then answers 503.
    ///
    /// Prefer the environment variable to the flag: a flag is visible to every user of the machine in `ps`.
    public var publishToken = PublisherSettings.publishToken.defaultValue
    /// Base URL of the gateway the page's `engine.js` connects to, e.g. `http://127.0.0.1:8080`; empty means the
    /// page's own origin (production: nginx serves the publisher and the gateway's `/sse` on one origin).
    ///
    /// A different origin must be allowed by the gateway (`SSE_ALLOWED_ORIGINS`).
    public var publicSSEURL = PublisherSettings.publicSSEURL.defaultValue
    /// The gateway's heartbeat interval in seconds, which the page assumes: `engine.js` treats a stream that sent
    /// nothing for two intervals as dead. Keep it equal to the gateway's `SSE_HEARTBEAT_SECONDS`.
    public var heartbeatSeconds = SharedSettings.heartbeatSeconds.defaultValue
    /// History cap (`maxlen`) passed with every reliable publish; the same meaning as `ssectl --history-length`.
    public var historyLength = SharedSettings.historyLength.defaultValue
    /// Posts the board keeps and shows (newest first); older ones are trimmed from Redis on each post.
    public var boardLength = PublisherSettings.boardLength.defaultValue
    /// Longest wait for one Redis round trip made by a request (seconds). Past it the request answers 503 and the
    /// connection is closed, so a hung Redis cannot pile up waiting requests.
    public var redisTimeoutSeconds = PublisherSettings.redisTimeoutSeconds.defaultValue
    /// Origins (`https://board.example`) whose pages may post to `/add_post` besides the request's own (its `Host`
    /// with http or https); see ``CrossSitePolicy``. Needed when a proxy does not forward the browser's `Host`, or
    /// when another site of yours posts to the board.
    public var publicOrigins = PublisherSettings.publicOrigins.defaultValue
    /// How long an `Idempotency-Key` of `POST /publish` keeps answering its first id (seconds): a retry within it
    /// publishes nothing. The key→id entry lives in Redis beside the topic's history and expires after this.
    public var idempotencyWindowSeconds = SharedSettings.idempotencyWindowSeconds.defaultValue
    /// Longest time from a request's first byte to the end of its body (seconds); past it the request gets 408 and
    /// the connection is closed. Bounds a client trickling its request, which the idle timeout (reset by every
    /// byte) does not.
    public var requestDeadlineSeconds = PublisherSettings.requestDeadlineSeconds.defaultValue
    /// Peers whose `X-Forwarded-For` names the client the post rate counts against; none by default (the peer is
    /// the client). Behind nginx, list it, or every visitor shares nginx's budget.
    public var trustedProxies = TrustedProxies.none
    /// Posts per client address to `/add_post`: a token bucket; more get 429 with `Retry-After`. 30 a minute with a
    /// burst of 30 by default: a person typing posts far slower, an office behind one address still posts freely,
    /// and a script flooding the demo board is held to one post every 2 s. A rate of 0 lifts the limit.
    public var postRate = TokenBucket.Rate.perMinute(
        PublisherSettings.postRate.defaultValue, burst: PublisherSettings.postBurst.defaultValue)
    /// The key visitor token cookies are signed with, `KID=ALG:PATH`; empty turns visitor tokens off (the page
    /// then follows only public `board`). With a key, every visitor gets an id and a token granting `board` and
    /// their own `visitor.<id>` (``VisitorTokens``); the gateway needs the matching verification key.
    public var tokenSigningKey = PublisherSettings.tokenSigningKey.defaultValue
    /// Verification keys (`KID=ALG:PATH`, as the gateway's) of the scoped tokens `POST /publish` accepts besides
    /// the static ``publishToken``; none: only the static token.
    public var tokenKeys = SharedSettings.tokenKeys.defaultValue
    /// How long a visitor token is valid (seconds); the cookie's `Max-Age` too. engine.js fetches a new one at
    /// `POST /token` when the gateway ends a stream at the token's expiry.
    public var tokenLifetimeSeconds = PublisherSettings.tokenLifetimeSeconds.defaultValue
    /// The name of the token cookie; must be the gateway's `SSE_TOKEN_COOKIE`.
    public var tokenCookie = SharedSettings.tokenCookie.defaultValue
    /// The `iss` written into visitor tokens and required of publish tokens; empty: none.
    public var tokenIssuer = SharedSettings.tokenIssuer.defaultValue
    /// The `aud` written into visitor tokens and required of publish tokens; empty: none.
    public var tokenAudience = SharedSettings.tokenAudience.defaultValue
    /// Level of every logger; logs go to standard error.
    public var logLevel = SharedSettings.logLevel.defaultValue

    public init() {}

    /// Checks the values that have rules beyond their type; the message names the setting and what it expects.
    public func validate() throws(PublisherConfigurationError) {
        guard (0...65535).contains(port) else {
            throw .init("port \(port) is invalid: expected 0–65535")
        }
        guard heartbeatSeconds > 0 else {
            throw .init("heartbeat \(heartbeatSeconds) is invalid: expected a positive number of seconds")
        }
        guard historyLength >= 1 else {
            throw .init("history length \(historyLength) is invalid: expected at least 1")
        }
        guard (1...1000).contains(boardLength) else {
            throw .init("board length \(boardLength) is invalid: expected 1–1000 posts")
        }
        guard redisTimeoutSeconds > 0 else {
            throw .init("Redis timeout \(redisTimeoutSeconds) is invalid: expected a positive number of seconds")
        }
        guard requestDeadlineSeconds > 0 else {
            throw .init(
                "request deadline \(requestDeadlineSeconds) is invalid: expected a positive number of seconds")
        }
        guard idempotencyWindowSeconds >= 1 else {
            throw .init(
                "idempotency window \(idempotencyWindowSeconds) is invalid: expected a positive number of seconds")
        }
        guard postRate.perSecond >= 0, !postRate.isLimited || postRate.burst >= 1 else {
            throw .init(
                "post rate \(postRate.perSecond * 60) per minute, burst \(postRate.burst) is invalid: expected a "
                    + "rate of 0 (no limit) or more, and a burst of at least 1 when posts are limited")
        }
        for origin in publicOrigins where !CrossSitePolicy.isValidSetting(origin) {
            throw .init(
                "public origin \(origin.debugDescription) is invalid: expected scheme://host[:port] such as "
                    + "https://board.example")
        }
        guard tokenLifetimeSeconds >= 1, tokenLifetimeSeconds <= 86400 * 366 else {
            throw .init(
                "token lifetime \(tokenLifetimeSeconds) is invalid: expected 1 to 31622400 seconds (a year)")
        }
        guard VisitorTokens.isCookieName(tokenCookie), tokenCookie != VisitorTokens.visitorCookie else {
            throw .init(
                "token cookie \(tokenCookie.debugDescription) is invalid: expected a cookie name other than "
                    + VisitorTokens.visitorCookie)
        }
        let url = publicSSEURL
        guard url.isEmpty || url.hasPrefix("http://") || url.hasPrefix("https://") || url.hasPrefix("/") else {
            throw .init(
                "public SSE URL \(url.debugDescription) is invalid: expected http://…, https://…, a path or nothing")
        }
        guard !url.contains(where: { $0 == "\"" || $0 == "<" || $0 == ">" || $0.isWhitespace }) else {
            throw .init(
                "public SSE URL \(url.debugDescription) is invalid: it contains a space, quote or angle bracket")
        }
    }

    /// ``publicSSEURL`` without a trailing slash, so `engine.js` can append `/sse?…`.
    var sseBaseURL: String {
        var url = publicSSEURL
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// The token, when the publish API is enabled.
    var enabledPublishToken: String? {
        guard let publishToken, !publishToken.isEmpty else { return nil }
        return publishToken
    }

    var redisTimeout: Duration { .milliseconds(Int64(redisTimeoutSeconds * 1000)) }
}

extension PublisherConfiguration: CustomStringConvertible {
    /// The settings for logs, with the publish token shown only as set or not.
    public var description: String {
        "host=\(host) port=\(port) redis=\(redisURL.contains("@") || redisURL.contains("password=") ? "(with credentials)" : redisURL) "
            + "publishToken=\(enabledPublishToken == nil ? "unset" : "set") sseURL=\(publicSSEURL.debugDescription) "
            + "heartbeat=\(heartbeatSeconds)s historyLength=\(historyLength) boardLength=\(boardLength) "
            + "redisTimeout=\(redisTimeoutSeconds)s publicOrigins=\(publicOrigins.joined(separator: ","))"
            + " idempotencyWindow=\(idempotencyWindowSeconds)s requestDeadline=\(requestDeadlineSeconds)s"
            + " trustedProxies=\(trustedProxies.networks.map(\.description).joined(separator: ","))"
            + " postRate=\(postRate.perSecond * 60)/min burst \(postRate.burst)"
            + " tokenSigningKey=\(tokenSigningKey.isEmpty ? "unset" : "set") tokenKeys=\(tokenKeys.count)"
            + " tokenLifetime=\(tokenLifetimeSeconds)s tokenCookie=\(tokenCookie)"
    }
}

/// A setting whose value breaks its rule, e.g. `board length 0 is invalid: expected 1–1000 posts`.
public struct PublisherConfigurationError: Error, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
