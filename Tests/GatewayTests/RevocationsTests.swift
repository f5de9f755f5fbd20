import Foundation
import NIOHTTP1
import SSEAuth
import SSEProtocol
import Testing

@testable import Gateway

/// The node's table of revocations and the authorizer's cookie reading: pure logic, no I/O.
@Suite("Revocations and token sources")
struct RevocationsTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func token(subject: String? = nil, id: String? = nil, issuedAgo: TimeInterval? = 60) -> AccessToken {
        AccessToken(
            subject: subject, tokenID: id, issuedAt: issuedAgo.map { now.addingTimeInterval(-$0) },
            expiresAt: now.addingTimeInterval(3600), grants: Grants())
    }

    static func topic(_ name: String) throws -> Topic { try Topic(validating: name) }

    @Test func eachKindCoversWhatItNamesUntilItsEnd() throws {
        let table = Revocations()
        let at = Self.now.timeIntervalSince1970 - 10
        table.add(.init(target: .subject("42"), at: at), now: Self.now)
        table.add(.init(target: .token("j-1"), until: at + 100), now: Self.now)
        table.add(.init(target: .topic(try Self.topic("user.7")), at: at), now: Self.now)
        let topics = [try Self.topic("user.42")]
        // Subject: tokens issued at or before `at`, or without iat; not a later one, not another subject.
        #expect(table.isRevoked(Self.token(subject: "42"), topics: topics, now: Self.now))
        #expect(table.isRevoked(Self.token(subject: "42", issuedAgo: nil), topics: topics, now: Self.now))
        #expect(table.isRevoked(Self.token(subject: "42", issuedAgo: 10), topics: topics, now: Self.now))
        #expect(!table.isRevoked(Self.token(subject: "42", issuedAgo: 9), topics: topics, now: Self.now))
        #expect(!table.isRevoked(Self.token(subject: "43"), topics: topics, now: Self.now))
        // Token id: any token with it, until `until`.
        #expect(table.isRevoked(Self.token(id: "j-1", issuedAgo: 0), topics: topics, now: Self.now))
        #expect(!table.isRevoked(Self.token(id: "j-1"), topics: topics, now: Self.now.addingTimeInterval(91)))
        #expect(!table.isRevoked(Self.token(id: "j-2"), topics: topics, now: Self.now))
        // Topic: only requests for it.
        #expect(table.isRevoked(Self.token(), topics: [try Self.topic("user.7")], now: Self.now))
        #expect(!table.isRevoked(Self.token(), topics: topics, now: Self.now))
        // Without `until`, a day after `at`.
        #expect(table.isRevoked(Self.token(subject: "42"), topics: topics, now: Self.now.addingTimeInterval(86_389)))
        #expect(!table.isRevoked(Self.token(subject: "42"), topics: topics, now: Self.now.addingTimeInterval(86_391)))
        #expect(table.count == 3)
    }

    @Test func aSecondRevocationOfTheSameSubjectWidensTheFirst() {
        let table = Revocations()
        let base = Self.now.timeIntervalSince1970
        table.add(.init(target: .subject("42"), at: base - 100, until: base + 50), now: Self.now)
        let entry = table.add(.init(target: .subject("42"), at: base - 10, until: base + 20), now: Self.now)
        #expect(entry.at == Date(timeIntervalSince1970: base - 10))
        #expect(entry.until == Date(timeIntervalSince1970: base + 50))
        #expect(table.count == 1)
        #expect(table.isRevoked(Self.token(subject: "42", issuedAgo: 50), topics: [], now: Self.now))
    }

    @Test func theTableStaysBoundedUnderAFloodOfTokenIDs() {
        let table = Revocations()
        let base = Self.now.timeIntervalSince1970
        for index in 0..<(Revocations.capacity + 5) {
            table.add(.init(target: .token("j-\(index)"), until: base + 1000 + Double(index)), now: Self.now)
        }
        #expect(table.count <= Revocations.capacity)
        // The ones that expire soonest went first; the newest is kept.
        #expect(!table.isRevoked(Self.token(id: "j-0"), topics: [], now: Self.now))
        #expect(table.isRevoked(Self.token(id: "j-\(Revocations.capacity + 4)"), topics: [], now: Self.now))
    }

    @Test func theTokenCookieIsFoundAmongOthersInEveryCookieHeader() {
        var headers = HTTPHeaders()
        headers.add(name: "Cookie", value: "theme=dark; sse_tokenx=wrong")
        headers.add(name: "cookie", value: "a=1;sse_token=abc.def.ghi; sse_token=second")
        #expect(StreamAuthorizer.cookie(named: "sse_token", in: headers) == "abc.def.ghi")
        var quoted = HTTPHeaders()
        quoted.add(name: "Cookie", value: #"sse_token="x.y.z""#)
        #expect(StreamAuthorizer.cookie(named: "sse_token", in: quoted) == "x.y.z")
        #expect(StreamAuthorizer.cookie(named: "sse_token", in: HTTPHeaders()) == nil)
    }
}
