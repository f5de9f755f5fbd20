import Foundation
import SSEProtocol
import Synchronization

/// The revocations a process knows of (from the control channel and the set kept in Redis), consulted for every
/// private stream request and matched against open streams when one arrives (the gateway), and for every publish
/// with a scoped token (the publisher). Shared by the event loops (a request is checked on its own loop) and the
/// node hub (which records them): a lock around tables by token id, subject and topic, pruned as entries pass
/// their `until`.
public final class Revocations: Sendable {
    /// One revocation with its times resolved.
    public struct Entry: Equatable, Sendable {
        public var target: ControlMessage.Revocation.Target
        /// Tokens of a subject or topic issued at or before this are covered.
        public var at: Date
        /// After this the entry is forgotten: the tokens it covers have expired by then.
        public var until: Date
        public var reason: String

        /// A token id stays refused until its `until`; a subject's or a topic's tokens issued at or before `at`
        /// (or without `iat`, which cannot show they are newer) are refused until `until`.
        public func covers(_ token: AccessToken, topics: [Topic]) -> Bool {
            switch target {
            case .token(let id):
                return token.tokenID == id
            case .subject(let subject):
                return token.subject == subject && issuedNoLaterThanRevocation(token)
            case .topic(let topic):
                return topics.contains(topic) && issuedNoLaterThanRevocation(token)
            }
        }

        private func issuedNoLaterThanRevocation(_ token: AccessToken) -> Bool {
            guard let issued = token.issuedAt else { return true }
            return issued <= at
        }
    }

    /// How long a revocation without `until` is kept: longer than any sane stream token lives.
    public static let defaultLifetime: TimeInterval = 86_400
    /// At most this many entries of each kind are kept (expired ones are dropped first, then the ones that expire
    /// soonest): a flood of control messages cannot grow the node without bound.
    public static let capacity = 100_000

    /// Entries by what they name, so a request looks up its token's id, subject and topics instead of scanning.
    private struct Table {
        var tokens: [String: Entry] = [:]
        var subjects: [String: Entry] = [:]
        var topics: [Topic: Entry] = [:]
        var count: Int { tokens.count + subjects.count + topics.count }
    }

    private let table = Mutex(Table())

    public init() {}

    /// The count of entries (for tests and metrics).
    public var count: Int { table.withLock { $0.count } }

    /// Records a revocation received at `now`; returns the entry as kept (a second revocation of the same subject,
    /// token or topic widens the first: the later `at`, the later `until`).
    @discardableResult
    public func add(_ revocation: ControlMessage.Revocation, now: Date) -> Entry {
        let at = revocation.at.map { Date(timeIntervalSince1970: $0) } ?? now
        let until =
            revocation.until.map { Date(timeIntervalSince1970: $0) } ?? at.addingTimeInterval(Self.defaultLifetime)
        var entry = Entry(target: revocation.target, at: at, until: until, reason: revocation.reason)
        return table.withLock { table in
            func merge<Key: Hashable>(_ entries: inout [Key: Entry], _ key: Key) {
                if let old = entries[key] {
                    entry.at = max(entry.at, old.at)
                    entry.until = max(entry.until, old.until)
                }
                if entries[key] == nil, entries.count >= Self.capacity { Self.shrink(&entries, now: now) }
                entries[key] = entry
            }
            switch revocation.target {
            case .token(let id): merge(&table.tokens, id)
            case .subject(let subject): merge(&table.subjects, subject)
            case .topic(let topic): merge(&table.topics, topic)
            }
            return entry
        }
    }

    /// Whether a live revocation covers `token` asking for `topics`.
    public func isRevoked(_ token: AccessToken, topics: [Topic], now: Date) -> Bool {
        entry(covering: token, topics: topics, now: now) != nil
    }

    /// The live revocation covering `token` asking for `topics`, if any.
    public func entry(covering token: AccessToken, topics: [Topic], now: Date) -> Entry? {
        table.withLock { table in
            var candidates: [Entry] = []
            if let id = token.tokenID, let entry = table.tokens[id] { candidates.append(entry) }
            if let subject = token.subject, let entry = table.subjects[subject] { candidates.append(entry) }
            for topic in topics { if let entry = table.topics[topic] { candidates.append(entry) } }
            return candidates.first { $0.until > now && $0.covers(token, topics: topics) }
        }
    }

    /// Drops the expired entries, and if none were, the tenth that expires soonest.
    private static func shrink<Key: Hashable>(_ entries: inout [Key: Entry], now: Date) {
        entries = entries.filter { $0.value.until > now }
        guard entries.count >= capacity else { return }
        let sorted = entries.sorted { $0.value.until < $1.value.until }
        for (key, _) in sorted.prefix(capacity / 10) { entries.removeValue(forKey: key) }
    }
}
