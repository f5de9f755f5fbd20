import ArgumentParser
import Foundation
import Testing

@testable import SSEAuth
@testable import SSECtl

@Suite("ssectl token")
struct TokenCommandTests {
    @Test("ssectl token signs a token with the grants, subject, id, issuer and audience asked for")
    func tokenVerifies() async throws {
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let key = "main=HS256:\(directory.path)/hs256"
            let parsed = try SSECtl.parseAsRoot([
                "token", "--key", key, "--subscribe", "board", "--subscribe", "user.42", "--publish", "org.7.*",
                "--subject", "42", "--lifetime", "120", "--id", "t-9", "--issuer", "iss", "--audience", "aud",
            ])
            let command = try #require(parsed as? TokenCommand)
            let token = try await command.token(now: FixedTime.now)
            let verifier = try await TokenVerifier(
                .init(keys: [KeySpec(parsing: key)], issuer: "iss", audience: "aud"))
            let access = try verifier.verify(token, now: FixedTime.now)
            #expect(access.subject == "42")
            #expect(access.tokenID == "t-9")
            #expect(access.expiresAt == FixedTime.now.addingTimeInterval(120))
            #expect(access.grants == grants(subscribe: ["board", "user.42"], publish: ["org.7.*"]))
            let payload = try #require(Base64URL.decode(token.split(separator: ".")[1].utf8))
            #expect(
                String(decoding: payload, as: UTF8.self)
                    == #"{"aud":"aud","exp":1800000120,"iat":1800000000,"iss":"iss","jti":"t-9","#
                    + #""sse":{"publish":["org.7.*"],"subscribe":["board","user.42"]},"sub":"42"}"#)
        }
    }

    static let refused: [(arguments: [String], message: String)] = [
        (["--subscribe", "board", "--lifetime", "0"], "lifetime 0 is invalid: expected a positive number of seconds"),
        ([], "a token needs at least one --subscribe or --publish pattern"),
        (
            ["--subscribe", "a*"],
            #"topic pattern "a*" is invalid: use a topic name (letters, digits and - _ . :), a topic name followed by .* or a lone *"#
        ),
    ]

    @Test("ssectl token refuses a bad lifetime, no grants and an invalid pattern", arguments: refused)
    func refusals(_ row: (arguments: [String], message: String)) {
        #expect {
            _ = try SSECtl.parseAsRoot(["token", "--key", "main=HS256:/nonexistent"] + row.arguments)
        } throws: { error in
            SSECtl.message(for: error) == row.message
        }
    }

    @Test("ssectl token with a key file that cannot be used says which")
    func badKey() throws {
        #expect {
            _ = try SSECtl.parseAsRoot(["token", "--key", "main=HS256:/nonexistent/secret", "--subscribe", "board"])
        } throws: { error in
            SSECtl.message(for: error) == "key main (HS256): /nonexistent/secret does not exist"
        }
    }
}
