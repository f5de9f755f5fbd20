import Foundation
import LocalRedis
import SSETestSupport
import Testing

@Suite("Post form validation and limits (real processes)")
struct PostValidationTests {
    /// The error list engine.js receives for these field errors.
    static func errorList(_ errors: [(field: String, message: String)]) -> String {
        #"<ul id="post-errors" class="errors" data-errors>"#
            + errors.map { "<li data-field=\"\($0.field)\">\($0.message)</li>" }.joined() + "</ul>"
    }

    @Test func eachInvalidFieldIsAnsweredWith422AndItsErrorAndNothingIsStored() async throws {
        try await BoardStack.with { stack in
            let cases: [(fields: [(String, String)], errors: [(field: String, message: String)])] = [
                ([], [("text", "text is required: write 1–280 characters")]),
                ([("text", "  \r\n\t ")], [("text", "text is required: write 1–280 characters")]),
                (
                    [("text", String(repeating: "é", count: 281))],
                    [("text", "text is too long: 281 characters, at most 280")]
                ),
                ([("text", "bell \u{07}")], [("text", "text must not contain control characters")]),
                (
                    [("author", String(repeating: "a", count: 41)), ("text", "ok")],
                    [("author", "name is too long: 41 characters, at most 40")]
                ),
                (
                    [("author", "two\nlines"), ("text", "ok")],
                    [("author", "name must be one line without control characters")]
                ),
                (
                    [("author", String(repeating: "b", count: 50))],
                    [
                        ("author", "name is too long: 50 characters, at most 40"),
                        ("text", "text is required: write 1–280 characters"),
                    ]
                ),
            ]
            for (fields, errors) in cases {
                let response = try await stack.publisher.postForm(
                    "/add_post", fields, headers: [("X-Engine-Request", "1")])
                #expect(response.status == 422, "\(fields)")
                #expect(response.header("Content-Type") == "text/html; charset=utf-8")
                #expect(response.body == Self.errorList(errors), "\(fields)")
            }
            // Exactly at the limits is fine: 40 and 280 characters (an emoji counts as one).
            let atLimit = try await stack.publisher.postForm(
                "/add_post",
                [("author", String(repeating: "n", count: 40)), ("text", String(repeating: "🎉", count: 280))],
                headers: [("X-Engine-Request", "1")])
            #expect(atLimit.status == 200)
            #expect(try await stack.stats() == ["version": "1", "posts": "1"])
            #expect(try await stack.history().count == 3)
        }
    }

    @Test func aPlainFormGetsThePageBackWithErrorsAndWhatWasTyped() async throws {
        try await BoardStack.with { stack in
            let response = try await stack.publisher.postForm(
                "/add_post", [("author", "<b>me</b>"), ("text", String(repeating: "x", count: 300))])
            #expect(response.status == 422)
            #expect(response.body.hasPrefix("<!doctype html>"))
            #expect(response.body.contains(#"value="&lt;b&gt;me&lt;/b&gt;""#))
            #expect(response.body.contains(">\(String(repeating: "x", count: 300))</textarea>"))
            #expect(response.body.contains(Self.errorList([("text", "text is too long: 300 characters, at most 280")])))
            #expect(response.body.contains(#"<li class="empty">No posts yet: be the first.</li>"#))
        }
    }

    @Test func htmxGetsTheErrorListRetargetedAtTheForm() async throws {
        try await BoardStack.with { stack in
            let response = try await stack.publisher.postForm(
                "/add_post", [("text", "")], headers: [("HX-Request", "true")])
            #expect(response.status == 422)
            #expect(response.header("HX-Retarget") == "#post-errors")
            #expect(response.header("HX-Reswap") == "outerHTML")
            #expect(response.body == Self.errorList([("text", "text is required: write 1–280 characters")]))
        }
    }

    @Test func oversizedMalformedAndMislabelledBodiesAreRefusedWithOneLine() async throws {
        try await BoardStack.with { stack in
            let publisher = stack.publisher
            let big = try await publisher.send(
                "POST", "/add_post", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: "text=" + String(repeating: "a", count: 16 * 1024))
            #expect(big.status == 413)
            #expect(big.body == "request body too large: at most 16384 bytes\n")

            let escape = try await publisher.send(
                "POST", "/add_post", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: "text=100%")
            #expect(escape.status == 400)
            #expect(escape.body == "malformed form encoding: \"%\" is not a %XX escape\n")

            let notUTF8 = try await publisher.send(
                "POST", "/add_post", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: "text=%FF%FE")
            #expect(notUTF8.status == 400)
            #expect(notUTF8.body == "malformed form encoding: the decoded bytes are not UTF-8\n")

            let json = try await publisher.send(
                "POST", "/add_post", headers: [("Content-Type", "application/json")], body: #"{"text":"hi"}"#)
            #expect(json.status == 415)
            #expect(
                json.body
                    == "Content-Type \"application/json\" is not supported: send application/x-www-form-urlencoded\n")

            let get = try await HTTPProbe.get(port: publisher.port, path: "/add_post")
            #expect(get.status == 405)
            #expect(get.header("Allow") == "POST")
            #expect(get.body == "GET not allowed on /add_post: use POST\n")
            #expect(try await stack.stats() == [:])
        }
    }
}
