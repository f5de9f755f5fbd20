import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SSEAuth
import SSEProtocol
import ServerSupport

extension PublishController {
    /// Who is publishing: the administrator (the static token, every topic) or the holder of a scoped token.
    enum Publisher {
        case administrator
        /// A verified JWT; it may publish only on topics its `publish` grants cover.
        case token(AccessToken)
    }

    /// Reads `Authorization: Bearer`: the static token (compared in constant time) is the administrator; anything
    /// shaped like a JWT (three dot-separated parts) is verified with the configured keys, 401 with
    /// `error="invalid_token"` and the reason when it does not verify; anything else is the 403 a wrong static token
    /// has always had.
    func authorize(_ request: Request, now: Date = Date()) throws -> Publisher {
        guard token != nil || verifier != nil else {
            throw PublisherError(.serviceUnavailable, "publish API disabled: set SSE_PUBLISH_TOKEN")
        }
        let presented: String
        switch BearerToken.presented(in: request.headers[.authorization]) {
        case .missing:
            throw PublisherError(
                .unauthorized, "missing bearer token: send Authorization: Bearer <token>", headers: Self.challenge)
        case .notBearer:
            throw PublisherError(
                .unauthorized, "Authorization must use the Bearer scheme: send Authorization: Bearer <token>",
                headers: Self.challenge)
        case .token(let value):
            presented = value
        }
        if let token, token.matches(presented) { return .administrator }
        guard let verifier, presented.utf8.count(where: { $0 == UInt8(ascii: ".") }) == 2 else {
            logger.notice("publish refused: wrong bearer token")
            throw PublisherError(.forbidden, "bearer token is not valid for this service")
        }
        do throws(TokenRejection) {
            let access = try verifier.verify(presented, now: now)
            // Inside the leeway after `exp` a token still verifies; a publish needs it to be valid now.
            guard access.expiresAt > now else { throw TokenRejection.expired }
            return .token(access)
        } catch {
            logger.notice("publish refused: token rejected", metadata: ["sse.auth_reason": "\(error.reason)"])
            throw Self.invalidToken(error)
        }
    }

    /// 403 unless `publisher` may publish on `topic`.
    static func check(_ publisher: Publisher, mayPublishOn topic: Topic) throws {
        guard case .token(let access) = publisher, !access.grants.publish.matches(topic) else { return }
        throw PublisherError(
            .forbidden, "topic \(PublisherError.quoted(topic.name)) is not granted for publishing by the token",
            headers: [.wwwAuthenticate: #"Bearer realm="sse-publisher", error="insufficient_scope""#])
    }

    /// 401 for a refused token (RFC 6750 §3): the reason as the body and in `error_description`.
    static func invalidToken(_ rejection: TokenRejection) -> PublisherError {
        let description = rejection.description
        // A quoted-string (RFC 9110 §5.6.4) without quotes, backslashes or control characters.
        let quoted = String(description.filter { $0 != "\"" && $0 != "\\" && !$0.isNewline && $0.isASCII })
        return PublisherError(
            .unauthorized, description,
            headers: [
                .wwwAuthenticate: #"Bearer realm="sse-publisher", error="invalid_token", error_description=""#
                    + quoted + "\""
            ])
    }
}
