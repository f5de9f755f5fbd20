import Testing

@Suite("Post form validation and limits (the publisher in process, one redis-server)")
struct PostValidationTests {
    /// The error list engine.js receives for these field errors.
    static func errorList(_ errors: [(field: String, message: String)]) -> String {
        #"<ul id="post-errors" class="errors" data-errors>"#
            + errors.map { "<li data-field=\"\($0.field)\">\($0.message)</li>" }.joined() + "</ul>"
    }

    @Test func eachInvalidFieldIsAnsweredWith422AndItsErrorAndNothingIsStored() async throws {
        try await InProcessBoard.with { stack in
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

    /// Issue 12, finding 9: characters alone do not bound a field (a `Z` with 2,600 combining marks is one
    /// character of 5.2 KB), and a right-to-left override in a name turns the rest of the line around.
    @Test func bytesAreBoundedAsWellAsCharactersAndNamesRefuseBidiAndFormatCharacters() async throws {
        try await InProcessBoard.with { stack in
            let zalgo = "Z" + String(repeating: "\u{0301}", count: 2600)
            #expect(zalgo.count == 1)
            var cases: [(fields: [(String, String)], errors: [(field: String, message: String)])] = [
                ([("text", zalgo)], [("text", "text is too long: 5201 bytes in UTF-8, at most 1120")]),
                (
                    [("author", "a" + String(repeating: "\u{0301}", count: 80)), ("text", "ok")],
                    [("author", "name is too long: 161 bytes in UTF-8, at most 160")]
                ),
            ]
            for scalar: UInt32 in [
                0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C,
                0xFEFF, 0x00AD, 0x2060,
            ] {
                let hex = String(scalar, radix: 16, uppercase: true)
                let code = String(repeating: "0", count: 4 - hex.count) + hex
                cases.append(
                    (
                        [("author", "\(Character(Unicode.Scalar(scalar)!))evil"), ("text", "ok")],
                        [("author", "name must not contain bidi controls or other format characters: found U+\(code)")]
                    ))
            }
            for (fields, errors) in cases {
                let response = try await stack.publisher.postForm(
                    "/add_post", fields, headers: [("X-Engine-Request", "1")])
                #expect(response.status == 422, "\(fields.map(\.0))")
                #expect(response.body == Self.errorList(errors), "\(errors)")
            }
            #expect(try await stack.stats() == [:])

            // Emoji joined by U+200D and a Persian name with U+200C are names, not tricks; 160 bytes is allowed.
            for author in ["👩\u{200D}💻 dev", "می\u{200C}خواهم", String(repeating: "🎉", count: 40)] {
                let response = try await stack.publisher.postForm(
                    "/add_post", [("author", author), ("text", "hi")], headers: [("X-Engine-Request", "1")])
                #expect(response.status == 200, "\(author)")
            }
            #expect(try await stack.stats()["posts"] == "3")
        }
    }

    @Test func aPlainFormGetsThePageBackWithErrorsAndWhatWasTyped() async throws {
        try await InProcessBoard.with { stack in
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

    /// Answered before anything reaches Redis, so no redis-server is started.
    @Test func htmxGetsTheErrorListRetargetedAtTheForm() async throws {
        let configuration = InProcessPublisher.configuration(redisURL: InProcessPublisher.unreachableRedisURL)
        try await InProcessPublisher.with(configuration) { publisher in
            let response = try await publisher.postForm(
                "/add_post", [("text", "")], headers: [("HX-Request", "true")])
            #expect(response.status == 422)
            #expect(response.header("HX-Retarget") == "#post-errors")
            #expect(response.header("HX-Reswap") == "outerHTML")
            #expect(response.body == Self.errorList([("text", "text is required: write 1–280 characters")]))
        }
    }

    @Test func oversizedMalformedAndMislabelledBodiesAreRefusedWithOneLine() async throws {
        try await InProcessBoard.with { stack in
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

            let get = try await publisher.get("/add_post")
            #expect(get.status == 405)
            #expect(get.header("Allow") == "POST")
            #expect(get.body == "GET not allowed on /add_post: use POST\n")
            #expect(try await stack.stats() == [:])
        }
    }
}
