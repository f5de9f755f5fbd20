import Foundation
import NIOCore
import SSEAuth
import SSEProtocol
import Synchronization

/// The token that authorized a private stream: revocations are matched against it, and its expiry ends the stream
/// (``SSEStream/expire(after:expiresAt:)``).
final class StreamGrant {
    let token: AccessToken
    /// The timer that ends the stream at its token's expiry; cancelled when the stream ends first.
    var expiry: Scheduled<Void>?

    init(token: AccessToken) { self.token = token }
}

/// How a private stream ends because of its token: at its expiry, or by a revocation.
extension SSEStream {
    /// Ends the stream after `delay` (its token's expiry, moved a little earlier): an `event: token-expired` whose
    /// data is the token's `exp` in Unix seconds, then a close that leaves the body unfinished, so that a client
    /// comes back (with a fresh token) and resumes from its last id.
    func expire(after delay: TimeAmount, expiresAt: Date) {
        let eventLoop = loopHub.eventLoop
        let stream = NIOLoopBound(self, eventLoop: eventLoop)
        let exp = Int64(expiresAt.timeIntervalSince1970.rounded(.down))
        grant?.expiry = eventLoop.assumeIsolated().scheduleTask(in: delay) {
            let stream = stream.value
            guard stream.isOpen else { return }
            stream.stats.auth.expiredStreams.add(1, ordering: .relaxed)
            stream.writeControl(ByteBuffer(string: "event: token-expired\ndata: {\"exp\":\(exp)}\n\n"))
            stream.close(error: false)
        }
    }

    /// Ends the stream for a revocation: an `event: revoked` naming the reason, then a finished body, since the
    /// same token would be refused if the client came back.
    func revoke(reason: String) {
        guard isOpen else { return }
        stats.auth.revokedStreams.add(1, ordering: .relaxed)
        // The reason is one line (``ControlMessage/validReason(_:)``), and JSON-escaped: one data line.
        finish(
            with: ByteBuffer(
                string: "event: revoked\ndata: {\"reason\":" + JSONValue.string(reason).compactText + "}\n\n"))
    }
}
