import Crypto
import Foundation

/// Hand-made JWTs for tests, including broken ones a real minter would never produce: any header, any payload,
/// signed with HMAC-SHA256 over any bytes (a secret, or a public key's PEM for the algorithm-confusion attack).
public enum TestTokens {
    /// base64url without padding (RFC 7515 §2).
    public static func base64url(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// `header.payload.signature` with the JSON texts as given, the signature HMAC-SHA256/384/512 over `key`.
    public static func hmac(header: String, payload: String, key: [UInt8], bits: Int = 256) -> String {
        let input = base64url(Array(header.utf8)) + "." + base64url(Array(payload.utf8))
        let symmetric = SymmetricKey(data: key)
        let signature: [UInt8] =
            switch bits {
            case 384: Array(HMAC<SHA384>.authenticationCode(for: Array(input.utf8), using: symmetric))
            case 512: Array(HMAC<SHA512>.authenticationCode(for: Array(input.utf8), using: symmetric))
            default: Array(HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: symmetric))
            }
        return input + "." + base64url(signature)
    }

    /// An unsigned token (`alg: none`): `header.payload.` with an empty signature.
    public static func unsigned(payload: String) -> String {
        base64url(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + base64url(Array(payload.utf8)) + "."
    }

    /// Seconds since 1970 now, plus `offset`.
    public static func unixTime(_ offset: Int = 0) -> Int { Int(Date().timeIntervalSince1970) + offset }
}
