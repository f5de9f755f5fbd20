import PercentDecoding
import SSEProtocol
import Testing

@testable import Publisher

@Suite("Publisher parsing and checks: JSON, forms, posts, tokens, times")
struct PublisherParsingTests {
    @Test func jsonIsReadLikeThePublishAPINeedsAndNamedInMessages() throws {
        // The parser itself is tested in SSEProtocolTests.JSONValueTests; these are the publisher's choices.
        let value = try JSONValue.parse(
            bytes: Array(#"{"topic":"a","topic":"b","n":-12,"x":1.50,"big":9223372036854775808}"#.utf8),
            options: .publisher)
        #expect(value.members?.map(\.key) == ["topic", "topic", "n", "x", "big"])
        #expect(value["topic"]?.stringValue == "a")
        #expect(value["n"]?.integerValue == -12)
        #expect(value["x"]?.integerValue == nil)
        #expect(value["big"]?.integerValue == nil)
        #expect(value["n"]?.stringValue == nil)
        #expect(value["x"]?.compactText == "1.50")
        let kinds: [JSONValue] = [.null, .bool(false), .number("1"), .string(""), .array([]), .object([])]
        #expect(kinds.map(\.kind) == ["null", "a boolean", "a number", "a string", "an array", "an object"])
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let error = #expect(throws: JSONValue.SyntaxError.self) {
            try JSONValue.parse(bytes: Array(tooDeep.utf8), options: .publisher)
        }
        #expect(error?.description == "malformed JSON at byte 64: expected at most 64 nested levels")
    }

    @Test func formFieldsDecodeLikeABrowserEncodes() throws {
        let fields = try FormFields(decoding: "author=J%C3%BCrgen+M&text=a%2Bb%3Dc%26d&&empty&author=second")
        #expect(fields["author"] == "Jürgen M")
        #expect(fields["text"] == "a+b=c&d")
        #expect(fields["empty"] == "")
        #expect(fields.pairs.count == 4)
        #expect(throws: PercentDecodingError.malformedEscape("%G1")) { try FormFields(decoding: "a=%G1") }
        #expect(throws: PercentDecodingError.notUTF8) { try FormFields(decoding: "a=%C3") }
    }

    @Test func postFormsTrimNormaliseAndDefaultTheAuthor() throws {
        let form = PostForm(fields: try FormFields(decoding: "author=+++&text=%0D%0A+line+one%0D%0Aline+two%0D+"))
        #expect(form.isValid)
        #expect(form.author == "")
        #expect(form.authorOrAnonymous == "anonymous")
        #expect(form.text == "line one\nline two")
        let separator = PostForm(fields: try FormFields(decoding: "text=a%E2%80%A8b"))
        #expect(separator.errors == [.init(field: "text", message: "text must not contain control characters")])
    }

    @Test func bearerTokensMatchOnlyExactlyWhateverTheirLength() {
        let token = BearerToken("s3cret")
        #expect(token.matches("s3cret"))
        for wrong in ["", "s3cre", "s3cret ", "s3cret\0", "S3cret", "s3cretX", "x3cret"] {
            #expect(!token.matches(wrong), "\(wrong.debugDescription)")
        }
        #expect(BearerToken.presented(in: nil) == .missing)
        #expect(BearerToken.presented(in: "Bearer") == .notBearer)
        #expect(BearerToken.presented(in: "Basic abc") == .notBearer)
        #expect(BearerToken.presented(in: "  BEARER   abc  ") == .token("abc"))
    }

    @Test func postTimesAreUTCToTheSecondWithoutALocale() {
        #expect(PostTime(milliseconds: 0).text == "1970-01-01 00:00:00 UTC")
        #expect(PostTime(milliseconds: 951_782_400_999).iso8601 == "2000-02-29T00:00:00Z")
        #expect(PostTime(milliseconds: 1_795_245_410_376).text == "2026-11-21 07:16:50 UTC")
        #expect(PostTime(milliseconds: -1).text == "1969-12-31 23:59:59 UTC")
        #expect(PostTime(milliseconds: 4_102_444_800_000).iso8601 == "2100-01-01T00:00:00Z")
    }

    @Test func noticeScriptsEscapeMarkupCharacters() {
        let post = Post(version: 1, author: "</script><b>\"&'", text: "", createdAt: 0)
        #expect(
            BoardPatches.notice(for: post).json()
                == #"{"js":{"exec":"window.engine && engine.notify(\"New post by \\u003c/script\\u003e\\u003cb\\u003e\\\"\\u0026'\")"}}"#
        )
    }

    @Test func aPublishedPatchIsOneTheGatewayReadsAsThatPatch() throws {
        let request = try PublishRequest(
            body: Array(#"{"topic":"t","html":{"x":"<p>1</p>"},"js":{"n":[1, {"k" : 2}],"exec":"f()"}}"#.utf8))
        #expect(request.eventName == nil)
        let event = ServerSentEvent(data: request.data)
        #expect(
            Patch(event: event)
                == Patch(
                    html: [.init(id: "x", html: "<p>1</p>")], variables: [.init(name: "n", json: #"[1,{"k":2}]"#)],
                    exec: "f()"))
    }
}
