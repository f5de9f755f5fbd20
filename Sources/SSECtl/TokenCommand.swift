import ArgumentParser
import Foundation
import SSEAuth

/// `ssectl token`: signs an access token for given grants and lifetime, for scripts, tests and operators (the
/// publisher mints its visitors' tokens itself, with the same ``TokenMinter``).
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Sign an access token for the given grants and print it.",
        discussion: """
            Prints only the token (a compact JWT) on stdout, so `TOKEN=$(ssectl token …)` works. The header \
            carries the key's id and algorithm; the grants go under the claim (default sse) as \
            {"subscribe": [...], "publish": [...]}. Patterns are topic names, a name followed by .* (every topic \
            below it) or *.
            """)

    @Option(
        help: ArgumentHelp(
            "The signing key, KID=ALG:PATH; for RS256, ES256 and EdDSA the file holds the PRIVATE key PEM.",
            valueName: "kid=alg:path"))
    var key: String
    @Option(help: ArgumentHelp("A topic pattern the token may subscribe to (repeat for more).", valueName: "pattern"))
    var subscribe: [String] = []
    @Option(help: ArgumentHelp("A topic pattern the token may publish on (repeat for more).", valueName: "pattern"))
    var publish: [String] = []
    @Option(help: "The subject (sub), e.g. a user id; revocation by subject closes its streams.")
    var subject: String?
    @Option(help: "Seconds until the token expires (exp = now + lifetime).")
    var lifetime = 3600
    @Option(name: .customLong("id"), help: "The token id (jti); revocation by id closes its streams.")
    var tokenID: String?
    @Option(help: "The issuer (iss), when the gateway checks one.")
    var issuer: String?
    @Option(help: "The audience (aud), when the gateway checks one.")
    var audience: String?
    @Option(help: "The name of the grants claim.")
    var claim = "sse"

    func validate() throws {
        guard lifetime >= 1 else {
            throw ValidationError("lifetime \(lifetime) is invalid: expected a positive number of seconds")
        }
        guard !subscribe.isEmpty || !publish.isEmpty else {
            throw ValidationError("a token needs at least one --subscribe or --publish pattern")
        }
        _ = try grants()
        // The key here too, so a bad key file is reported with this command's usage line (exit 64).
        do {
            try TokenMinter.validate(signingKey: try KeySpec(parsing: key))
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        print(try await token(now: Date()))
    }

    /// The signed token, as `run` prints it.
    func token(now: Date) async throws -> String {
        try await minter().mint(
            subject: subject, grants: try grants(), lifetime: .seconds(lifetime), tokenID: tokenID, issuer: issuer,
            audience: audience, claim: claim, now: now)
    }

    /// Reads the key file and has jwt-kit build its signer; a bad spec or file is a usage error naming it.
    func minter() async throws -> TokenMinter {
        do {
            return try await TokenMinter(signingKey: try KeySpec(parsing: key))
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func grants() throws -> Grants {
        do {
            return Grants(
                subscribe: try TopicPatterns(validating: subscribe), publish: try TopicPatterns(validating: publish))
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
