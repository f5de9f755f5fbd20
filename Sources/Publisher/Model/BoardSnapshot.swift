import RedisClient
import SSEProtocol

/// The board's model at one model version, read in one atomic step: what the page and a patch render.
struct BoardSnapshot: Sendable, Equatable {
    /// Incremented by every change; orders renders (see ``BoardPublisher``). 0 before the first post.
    var version: Int64
    /// Posts ever made (the list keeps only the newest ``PublisherConfiguration/boardLength``).
    var postCount: Int64
    /// Newest first.
    var posts: [Post]
    /// The newest event in the board topic's history when the snapshot was read; a page rendered from this
    /// snapshot resumes its stream after it, so nothing published after the read is missed. Nil when the history
    /// is empty (or was only read by `board_add`, which does not report it).
    var lastEventID: EventID?

    static let empty = BoardSnapshot(version: 0, postCount: 0, posts: [], lastEventID: nil)

    /// Reads the reply of `board_add` (`[version, count, posts]`) or `board_read` (`[version, count, posts,
    /// last id or ""]`).
    init(reply: RedisReply) throws {
        try reply.throwingServerError()
        guard let parts = reply.array, parts.count >= 3, let version = parts[0].int, let count = parts[1].int,
            let entries = parts[2].array
        else { throw RedisError.unexpectedReply(command: "FCALL board_*", reply: "\(reply)") }
        var posts: [Post] = []
        posts.reserveCapacity(entries.count)
        for entry in entries {
            guard let bytes = entry.bytes else {
                throw RedisError.unexpectedReply(command: "FCALL board_*", reply: "\(reply)")
            }
            posts.append(try Post(stored: bytes))
        }
        var lastEventID: EventID?
        if parts.count > 3, let text = parts[3].string, !text.isEmpty {
            lastEventID = try EventID(parsing: text)
        }
        self.init(version: version, postCount: count, posts: posts, lastEventID: lastEventID)
    }

    init(version: Int64, postCount: Int64, posts: [Post], lastEventID: EventID?) {
        self.version = version
        self.postCount = postCount
        self.posts = posts
        self.lastEventID = lastEventID
    }
}
