import ArgumentParser
import Foundation
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol

/// `ssectl revoke`: closes, on every node, the streams of a subject, a token id or a topic, and has the nodes refuse
/// the tokens it covers (see ``ControlMessage``'s `revoke`).
struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke the tokens of a subject, one token id or a topic on every gateway node.",
        discussion: """
            Give exactly one of --subject, --token or --topic. Every stream authorized by a covered token gets an \
            `event: revoked` and a complete body, on every node, and covered tokens are refused on reconnect: a \
            token id until --until (Unix seconds; default a day from now, set it to the token's exp), a subject's \
            or a topic's tokens issued until now (their iat) for as long. The revocation is kept in Redis \
            (sse:revocations) until then, so nodes that start or reconnect later know it. Publishers with token keys \
            refuse covered publish tokens too. Prints the number of subscribers that received it (gateway nodes \
            and such publishers).
            """)

    @OptionGroup var redis: RedisOptions
    @Option(help: "Revoke every token of this subject (sub) issued until now.") var subject: String?
    @Option(help: "Revoke the token with this id (jti).") var token: String?
    @Option(help: "Revoke every token for this topic issued until now.") var topic: String?
    @Option(help: "Why, sent in the revoked event (one line, 1–200 characters).") var reason = "revoked"
    @Option(help: "Unix seconds until which covered tokens are refused (default: a day from now).") var until: Double?

    func validate() throws {
        _ = try revocation()
    }

    func revocation() throws -> ControlMessage.Revocation {
        let targets: [ControlMessage.Revocation.Target]
        do {
            targets = try [
                subject.map { .subject($0) }, token.map { .token($0) }, topic.map { .topic(try Topic(validating: $0)) },
            ].compactMap { $0 }
            _ = try ControlMessage.validReason(reason)
        } catch {
            throw ValidationError("\(error)")
        }
        guard targets.count == 1 else { throw ValidationError("give exactly one of --subject, --token or --topic") }
        if let until, !until.isFinite || until < 0 { throw ValidationError("--until must be Unix seconds") }
        let revocation = ControlMessage.Revocation(target: targets[0], until: until, reason: reason)
        // The gateway's own parser checks it, so what is sent is what every node accepts.
        do {
            _ = try ControlMessage(parsing: .init(string: ControlMessage.revoke(revocation).payload))
        } catch {
            throw ValidationError("\(error)")
        }
        return revocation
    }

    func run() async throws {
        let access = try redis.connect()
        do {
            print(try await access.history.revoke(try revocation()))
            await access.close()
        } catch {
            await access.close()
            throw error
        }
    }
}
