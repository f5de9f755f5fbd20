import Foundation
import SSEAuth
import ServerSupport
import Testing

@testable import Publisher

/// The token settings of `sse-publisher`: defaults, and each mistake refused at start with one line naming the
/// setting (never a key's contents).
@Suite struct PublisherTokenSettingsTests {
    static func configuration(_ environment: [String: String]) -> Result<PublisherConfiguration, SettingError> {
        Result { () throws(SettingError) in
            try PublisherConfiguration(reader: SettingsReader().reader(environment: environment))
        }
    }

    static func message(_ environment: [String: String]) -> String? {
        guard case .failure(let error) = configuration(environment) else { return nil }
        return error.message
    }

    @Test func theDefaultsAreNoKeysA900SecondLifetimeAndTheGatewaysCookieName() async throws {
        let configuration = try Self.configuration([:]).get()
        #expect(configuration.tokenSigningKey == "")
        #expect(configuration.tokenKeys == [])
        #expect(configuration.tokenLifetimeSeconds == 900)
        #expect(configuration.tokenCookie == "sse_token")
        #expect(configuration.tokenIssuer == "" && configuration.tokenAudience == "")
        let tokens = try await configuration.tokens()
        #expect(tokens.visitors == nil && tokens.publishVerifier == nil)
    }

    @Test func keysAreLoadedAtStartAndABadOneIsOneLineNamingTheSetting() async throws {
        let file = NSTemporaryDirectory() + "publisher-token-settings-\(getpid()).secret"
        try Data("a-secret-for-the-settings-test-32-bytes+".utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let loaded = try Self.configuration([
            "SSE_TOKEN_SIGNING_KEY": "demo=HS256:\(file)", "SSE_TOKEN_KEYS": "demo=HS256:\(file)",
            "SSE_TOKEN_LIFETIME_SECONDS": "60.5", "SSE_TOKEN_COOKIE": "board_token",
        ]).get()
        let tokens = try await loaded.tokens()
        #expect(tokens.visitors?.lifetimeSeconds == 61)
        #expect(tokens.visitors?.cookie == "board_token")
        #expect(tokens.publishVerifier?.keyIDs == ["demo"])
        #expect(!loaded.description.contains(file) && loaded.description.contains("tokenSigningKey=set"))

        #expect(
            Self.message(["SSE_TOKEN_SIGNING_KEY": "demo=HS256:/nonexistent/secret"])
                == "SSE_TOKEN_SIGNING_KEY: key demo (HS256): /nonexistent/secret does not exist")
        #expect(
            Self.message(["SSE_TOKEN_KEYS": "demo=HS999:\(file)"])
                == "SSE_TOKEN_KEYS: key demo has unknown algorithm \"HS999\": use HS256, HS384, HS512, RS256, ES256 or EdDSA"
        )
        #expect(
            Self.message(["SSE_TOKEN_KEYS": "demo=HS256:\(file),demo=HS256:\(file)"])
                == "SSE_TOKEN_KEYS: key id demo is configured twice: each key needs its own id")
        #expect(
            Self.message(["SSE_TOKEN_LIFETIME_SECONDS": "0"])
                == "token lifetime 0.0 is invalid: expected 1 to 31622400 seconds (a year)")
        #expect(
            Self.message(["SSE_TOKEN_COOKIE": "a b"])
                == "token cookie \"a b\" is invalid: expected a cookie name other than sse_visitor")
        #expect(
            Self.message(["SSE_TOKEN_COOKIE": "sse_visitor"])
                == "token cookie \"sse_visitor\" is invalid: expected a cookie name other than sse_visitor")
    }
}
