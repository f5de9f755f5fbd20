import Crypto
import Foundation

/// Hand-built tokens for the refusal table: any header, any payload, any signature, encoded here with Foundation
/// rather than with the library's own codec, so the table does not lean on the code it checks.
enum Forge {
    static let issuer = "https://id.example"
    static let audience = "sse-gateway"
    static let header = #"{"alg":"HS256","kid":"main","typ":"JWT"}"#

    /// A payload that passes every check of ``standardConfiguration``, changed by `change`.
    static func claims(_ change: (inout [String: Any]) -> Void = { _ in }) -> String {
        var members: [String: Any] = [
            "exp": FixedTime.seconds + 600, "iat": FixedTime.seconds, "iss": issuer, "aud": audience, "sub": "42",
            "sse": ["subscribe": ["board", "user.42"]],
        ]
        change(&members)
        let data = try! JSONSerialization.data(withJSONObject: members, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    static func encoded(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func encoded(_ text: String) -> String { encoded(Array(text.utf8)) }

    /// `header.payload` already encoded (or deliberately broken), with an HMAC-SHA256 over exactly those bytes.
    static func hmac256(segments: String, secret: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(segments.utf8), using: SymmetricKey(data: secret))
        return segments + "." + encoded(Array(mac))
    }

    static func hmac384(segments: String, secret: [UInt8]) -> String {
        let mac = HMAC<SHA384>.authenticationCode(for: Array(segments.utf8), using: SymmetricKey(data: secret))
        return segments + "." + encoded(Array(mac))
    }

    /// Header and payload JSON signed with HMAC-SHA256; the fixture's `main` secret by default.
    static func signed(
        header: String = header, _ payload: String = claims(), secret: [UInt8] = KeyFixture.shared.secret256
    ) -> String {
        hmac256(segments: encoded(header) + "." + encoded(payload), secret: secret)
    }
}
