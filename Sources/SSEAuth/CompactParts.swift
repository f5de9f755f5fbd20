/// The three base64url segments of a compact JWS, `header.payload.signature`, still encoded.
struct CompactParts {
    let header: ArraySlice<UInt8>
    let payload: ArraySlice<UInt8>
    let signature: ArraySlice<UInt8>
    /// `header.payload`: the bytes the signature covers.
    let signingInput: ArraySlice<UInt8>

    /// Splits at the dots; anything but exactly three segments is malformed (a JWE has five, and is not taken).
    init(_ token: [UInt8]) throws(TokenRejection) {
        let dots = token.indices.filter { token[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else {
            throw .malformed("expected three dot-separated parts, found \(dots.count + 1)")
        }
        header = token[..<dots[0]]
        payload = token[(dots[0] + 1)..<dots[1]]
        signature = token[(dots[1] + 1)...]
        signingInput = token[..<dots[1]]
    }
}

/// The JOSE header fields that matter here.
struct Header {
    let algorithm: String
    let keyID: String?
}

extension TokenVerifier {
    /// Decodes the header and refuses `alg: none` and any `crit` extension (none is understood here, and RFC 7515
    /// §4.1.11 requires refusing a token that lists one).
    static func header(_ parts: CompactParts) throws(TokenRejection) -> Header {
        guard let bytes = Base64URL.decode(parts.header) else { throw .malformed("the header is not base64url") }
        guard let members = JSONValue.parse(bytes)?.object else {
            throw .malformed("the header is not a JSON object")
        }
        guard let algorithm = members["alg"]?.string else { throw .malformed("the header has no alg") }
        guard algorithm.lowercased() != "none" else {
            throw .algorithm("algorithm \(shown(algorithm)) is refused: tokens must be signed")
        }
        guard members["crit"] == nil else { throw .malformed("the header lists crit extensions, none is supported") }
        var keyID: String?
        if let value = members["kid"] {
            guard let text = value.string else { throw .malformed("the header's kid is not a string") }
            keyID = text
        }
        return Header(algorithm: algorithm, keyID: keyID)
    }
}
