public import Configuration
import SSEAuth
import SSEProtocol
import ServerSupport

/// Who may read which topic: the token keys and the checks of their claims, where a token may come from, and
/// which topics stay public. Without keys every topic is public (as before tokens existed); once a key is set, a
/// topic is private unless a public pattern lists it. The README's "Security" section documents it.
public struct AccessConfiguration: Sendable {
    /// Verification keys, `KID=ALG:PATH` (`--token-key`, `SSE_TOKEN_KEYS`); the algorithm of each is fixed here,
    /// never taken from a token.
    public var keys = SharedSettings.tokenKeys.defaultValue
    /// JWKS files of verification keys (`--token-jwks`, `SSE_TOKEN_JWKS`).
    public var jwksFiles = GatewaySettings.tokenJWKS.defaultValue
    /// The `iss` every token must carry; empty: not checked (`--token-issuer`, `SSE_TOKEN_ISSUER`).
    public var issuer = SharedSettings.tokenIssuer.defaultValue
    /// The audience every token's `aud` must contain; empty: not checked (`--token-audience`, `SSE_TOKEN_AUDIENCE`).
    public var audience = SharedSettings.tokenAudience.defaultValue
    /// Clock leeway for `exp`, `nbf` and `iat` (`--token-leeway`, `SSE_TOKEN_LEEWAY_SECONDS`).
    public var leeway = Duration.seconds(GatewaySettings.tokenLeewaySeconds.defaultValue)
    /// The claim holding the grants (`--token-claim`, `SSE_TOKEN_CLAIM`).
    public var claim = GatewaySettings.tokenClaim.defaultValue
    /// The cookie a token may come in (`--token-cookie`, `SSE_TOKEN_COOKIE`): read only from requests without
    /// `Origin` or from an origin listed in the allowed origins by name (``CORSPolicy/Verdict/cookiesTrusted``).
    public var cookie = SharedSettings.tokenCookie.defaultValue
    /// Whether `access_token` in the query is read (`--token-in-query`, `SSE_TOKEN_IN_QUERY`). Off by default: a
    /// URL reaches access logs, browser history and `Referer` headers.
    public var tokenInQuery = GatewaySettings.tokenInQuery.defaultValue
    /// A stream ends before its token's `exp` by a random amount up to this (and up to a tenth of the token's
    /// remaining life), so that the clients of tokens minted together do not come back together
    /// (`--token-expiry-spread`, `SSE_TOKEN_EXPIRY_SPREAD_SECONDS`).
    public var expirySpread = Duration.seconds(GatewaySettings.tokenExpirySpreadSeconds.defaultValue)
    /// Topic patterns anyone may read once keys are set (`--public-topic`, `SSE_PUBLIC_TOPICS`).
    public var publicTopics = GatewaySettings.publicTopics.defaultValue

    public init() {}

    init(reader: ConfigReader) throws(SettingError) {
        keys = try reader.value(of: SharedSettings.tokenKeys)
        jwksFiles = try reader.value(of: GatewaySettings.tokenJWKS)
        issuer = try reader.value(of: SharedSettings.tokenIssuer)
        audience = try reader.value(of: SharedSettings.tokenAudience)
        leeway = .settingSeconds(try reader.value(of: GatewaySettings.tokenLeewaySeconds))
        claim = try reader.value(of: GatewaySettings.tokenClaim)
        cookie = try reader.value(of: SharedSettings.tokenCookie)
        tokenInQuery = try reader.value(of: GatewaySettings.tokenInQuery)
        expirySpread = .settingSeconds(try reader.value(of: GatewaySettings.tokenExpirySpreadSeconds))
        publicTopics = try reader.value(of: GatewaySettings.publicTopics)
    }

    /// Loads the keys (reading their files, jwt-kit building their algorithms) and checks every value: the one
    /// place a mistake here is found, at startup, as one line naming the setting.
    func authorizer() async throws(SettingError) -> StreamAuthorizer {
        let (configuration, patterns) = try validated()
        let verifier: TokenVerifier
        do {
            verifier = try await TokenVerifier(configuration)
        } catch {
            throw SettingError(message: "\(error)")
        }
        return StreamAuthorizer(
            verifier: verifier.hasKeys ? verifier : nil, publicTopics: TopicPatterns(patterns), cookie: cookie,
            tokenInQuery: tokenInQuery, expirySpread: expirySpread)
    }

    /// Checks every value and reads the key files, with the errors ``authorizer()`` gives, without building the
    /// verifier (settings validation cannot await); returns the verifier's configuration and the public patterns.
    @discardableResult
    func validated() throws(SettingError) -> (TokenVerifier.Configuration, [TopicPattern]) {
        let configuration: TokenVerifier.Configuration
        let patterns: [TopicPattern]
        do {
            let specs = try keys.map { spec throws(AuthConfigurationError) in try KeySpec(parsing: spec) }
            patterns = try publicTopics.map { text throws(AuthConfigurationError) in
                try TopicPattern(validating: text)
            }
            configuration = TokenVerifier.Configuration(
                keys: specs, jwksFiles: jwksFiles, issuer: issuer.isEmpty ? nil : issuer,
                audience: audience.isEmpty ? nil : audience, leeway: leeway, claim: claim)
            try TokenVerifier.validate(configuration)
        } catch {
            throw SettingError(message: "\(error)")
        }
        guard !cookie.isEmpty, cookie.utf8.allSatisfy(Self.isTokenByte) else {
            throw SettingError(message: "SSE_TOKEN_COOKIE=\"\(cookie.prefix(60))\" is invalid: expected a cookie name")
        }
        guard leeway >= .zero, expirySpread >= .zero else {
            throw SettingError(message: "token leeway and expiry spread must not be negative")
        }
        return (configuration, patterns)
    }

    /// A byte of an RFC 9110 token (a cookie name is one).
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
