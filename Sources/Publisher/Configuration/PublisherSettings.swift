import Configuration
public import ServerSupport

/// The publisher's own settings (the shared ones are in ``SharedSettings``): key, flag, variable and the one
/// default each ``PublisherConfiguration`` field starts from. The README's configuration table documents them.
public enum PublisherSettings {
    public static let port = Setting.port(default: 8090, summary: "Port to listen on, 0 for any free one")
    /// Secret: redacted by the reader, shown only as set or unset in ``PublisherConfiguration/description``.
    public static let publishToken = Setting.secret(
        "publishToken", flag: "publish-token", environment: "SSE_PUBLISH_TOKEN",
        summary: "Bearer token POST /publish requires; unset disables the API (prefer the variable: flags show in ps)")
    public static let publicSSEURL = Setting.text(
        "publicSseUrl", flag: "sse-url", environment: "SSE_PUBLIC_SSE_URL", default: "",
        summary: "Gateway base URL the page connects to, empty for the page's origin")
    public static let boardLength = Setting.integer(
        "boardLength", flag: "board-length", environment: "SSE_BOARD_LENGTH", default: 50, expected: "a count",
        summary: "Posts the board keeps and shows")
    public static let redisTimeoutSeconds = Setting.seconds(
        "redisTimeoutSeconds", flag: "redis-timeout", environment: "SSE_REDIS_TIMEOUT_SECONDS", default: 2,
        summary: "Seconds a request waits for Redis before answering 503")
    public static let publicOrigins = Setting.list(
        "publicOrigins", flag: "public-origins", environment: "SSE_PUBLIC_ORIGINS", default: [],
        summary: "Origins whose pages may post to /add_post besides the request's own")
    public static let requestDeadlineSeconds = Setting.seconds(
        "requestDeadlineSeconds", flag: "request-deadline", environment: "SSE_REQUEST_DEADLINE_SECONDS",
        default: 30, summary: "Seconds a whole request may take to arrive before 408")
    public static let postRate = Setting.number(
        "postRate", flag: "post-rate", environment: "SSE_POST_RATE", default: 30, expected: "posts per minute",
        summary: "Posts per minute one client address may make to /add_post, 0 for no limit")
    public static let postBurst = Setting.integer(
        "postBurst", flag: "post-burst", environment: "SSE_POST_BURST", default: 30, expected: "a count",
        summary: "Posts one client address may make at once before the per-minute rate")
    /// `KID=ALG:PATH` of the key visitor cookies are signed with (the gateway's ``KeySpec`` format; a key pair's
    /// file holds the PRIVATE key); empty: no visitor tokens, every topic of the page is public.
    public static let tokenSigningKey = Setting.text(
        "tokenSigningKey", flag: "token-signing-key", environment: "SSE_TOKEN_SIGNING_KEY", default: "",
        summary: "Key the visitor token cookies are signed with, KID=ALG:PATH; empty: no visitor tokens")
    public static let tokenLifetimeSeconds = Setting.seconds(
        "tokenLifetimeSeconds", flag: "token-lifetime", environment: "SSE_TOKEN_LIFETIME_SECONDS", default: 900,
        summary: "Seconds a visitor token is valid")
}

extension PublisherConfiguration {
    /// Every setting `sse-publisher` reads, in the order of its `--help`.
    public static let settings: [SettingDescriptor] = [
        SharedSettings.host.descriptor, PublisherSettings.port.descriptor, SharedSettings.redisURL.descriptor,
        PublisherSettings.publishToken.descriptor, PublisherSettings.publicSSEURL.descriptor,
        SharedSettings.heartbeatSeconds.descriptor, SharedSettings.historyLength.descriptor,
        PublisherSettings.boardLength.descriptor, PublisherSettings.redisTimeoutSeconds.descriptor,
        PublisherSettings.publicOrigins.descriptor, SharedSettings.idempotencyWindowSeconds.descriptor,
        PublisherSettings.requestDeadlineSeconds.descriptor, SharedSettings.trustedProxies.descriptor,
        PublisherSettings.postRate.descriptor, PublisherSettings.postBurst.descriptor,
        PublisherSettings.tokenSigningKey.descriptor, SharedSettings.tokenKeys.descriptor,
        PublisherSettings.tokenLifetimeSeconds.descriptor, SharedSettings.tokenCookie.descriptor,
        SharedSettings.tokenIssuer.descriptor, SharedSettings.tokenAudience.descriptor,
        SharedSettings.logLevel.descriptor,
    ]
}
