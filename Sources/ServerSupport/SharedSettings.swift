import Configuration
public import Logging

/// The settings more than one program reads, each with its one default: the gateway, the publisher and `ssectl`
/// read the same key, flag and variable, so a deployment sets `SSE_REDIS_URL` once for all of them.
public enum SharedSettings {
    public static let host = Setting.text(
        "host", flag: "host", environment: "SSE_HOST", default: "127.0.0.1", summary: "Address to listen on")

    public static let redisURL = Setting.text(
        "redisUrl", flag: "redis-url", environment: "SSE_REDIS_URL", default: "redis://127.0.0.1:6379",
        summary: "Redis URL")

    /// The gateway sends a heartbeat to a stream idle this long; the publisher's page assumes the same interval.
    public static let heartbeatSeconds = Setting.seconds(
        "heartbeatSeconds", flag: "heartbeat", environment: "SSE_HEARTBEAT_SECONDS", default: 15,
        summary: "Seconds a stream may be idle before it gets a heartbeat (the publisher's page assumes the same)")

    /// Publishers pass it as `maxlen`, which trims the history; a gateway bounds one replay at `2 × N + 100`.
    public static let historyLength = Setting.integer(
        "historyLength", flag: "history-length", environment: "SSE_HISTORY_LENGTH", default: 1000,
        expected: "a count",
        summary: "Events kept per topic's history (maxlen of each publish; a gateway replays at most 2N+100)")

    /// Seconds an idempotency key keeps answering its first id (the publisher's API and `ssectl publish`).
    public static let idempotencyWindowSeconds = Setting.integer(
        "idempotencyWindowSeconds", flag: "idempotency-window", environment: "SSE_IDEMPOTENCY_WINDOW_SECONDS",
        default: 86_400, expected: "seconds", summary: "Seconds an idempotency key answers its first id")

    /// Peers whose `X-Forwarded-For` names the client the limits per client count against
    /// (``TrustedProxies``); none by default, so the header is ignored unless a proxy is listed.
    public static let trustedProxies = Setting.list(
        "trustedProxies", flag: "trusted-proxy", environment: "SSE_TRUSTED_PROXIES", default: [],
        summary: "Proxies (addresses or CIDRs, comma-separated, repeatable) whose X-Forwarded-For names the client"
    ) { entry throws(SettingError) in
        guard TrustedProxies.Network(entry) != nil else { throw TrustedProxies.invalidEntry(entry) }
    }

    /// Verification keys of access tokens (`KID=ALG:PATH`): the gateway checks stream tokens with them, the
    /// publisher the scoped tokens of `POST /publish`. One setting, so both trust the same keys.
    public static let tokenKeys = Setting.list(
        "tokenKeys", flag: "token-key", environment: "SSE_TOKEN_KEYS", default: [],
        summary: "Token verification keys, `KID=ALG:PATH` (HS256/384/512 secret, RS256/ES256/EdDSA public key PEM)")
    /// The `iss` tokens must carry (the publisher also writes it into the visitor tokens it mints).
    public static let tokenIssuer = Setting.text(
        "tokenIssuer", flag: "token-issuer", environment: "SSE_TOKEN_ISSUER", default: "",
        summary: "The `iss` of tokens (required when set; the publisher's visitor tokens carry it); empty: none")
    /// The audience tokens must name (the publisher also writes it into the visitor tokens it mints).
    public static let tokenAudience = Setting.text(
        "tokenAudience", flag: "token-audience", environment: "SSE_TOKEN_AUDIENCE", default: "",
        summary: "The `aud` of tokens (required when set; the publisher's visitor tokens carry it); empty: none")
    /// The cookie a stream token comes in: the publisher sets it, the gateway reads it.
    public static let tokenCookie = Setting.text(
        "tokenCookie", flag: "token-cookie", environment: "SSE_TOKEN_COOKIE", default: "sse_token",
        summary: "Name of the cookie a stream token comes in (the publisher sets it, the gateway reads it)")

    public static let logLevel = Setting<Logger.Level>(
        key: "logLevel", flag: "log-level", environmentVariable: "SSE_LOG_LEVEL", default: .info,
        documentedDefault: "`info`", summary: "trace, debug, info, notice, warning, error or critical"
    ) { raw throws(SettingError) in
        guard let level = Logger.Level(rawValue: raw) else {
            throw SettingError(
                message: "log level \"\(raw)\" is invalid: use trace, debug, info, notice, warning, error or critical")
        }
        return level
    }
}
