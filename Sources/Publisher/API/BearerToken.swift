/// The publish API's shared secret, and the check of the `Authorization: Bearer <token>` a request presents.
///
/// The comparison takes the same time whatever the presented token holds, so response timing tells an attacker
/// nothing about how many leading bytes were right: every byte of the expected token is compared (against the
/// presented byte or zero), differences are OR-ed together, and the loop never exits early. Only the expected
/// token's length (not a secret worth guarding: it is fixed by configuration) sets the running time.
struct BearerToken: Sendable {
    /// What an `Authorization` header holds, as far as this API is concerned.
    enum Presented: Equatable {
        case missing
        /// A header with another scheme (`Basic …`) or no token after `Bearer`.
        case notBearer
        case token(String)
    }

    private let expected: [UInt8]

    init(_ token: String) {
        expected = Array(token.utf8)
    }

    /// True when `presented` is exactly the token, compared in constant time.
    func matches(_ presented: String) -> Bool {
        let given = Array(presented.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in expected.indices {
            let byte = index < given.count ? given[index] : 0
            difference |= byte ^ expected[index]
        }
        return difference == 0
    }

    /// Reads an `Authorization` header value: the scheme `Bearer` (any case), spaces, then the token (RFC 6750).
    static func presented(in header: String?) -> Presented {
        guard let header else { return .missing }
        let trimmed = header.drop { $0 == " " }
        let scheme = trimmed.prefix { $0 != " " }
        guard scheme.lowercased() == "bearer" else { return .notBearer }
        var token = trimmed.dropFirst(scheme.count).drop { $0 == " " }
        while token.last == " " { token = token.dropLast() }
        return token.isEmpty ? .notBearer : .token(String(token))
    }
}
