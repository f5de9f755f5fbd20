import LocalRedis
import NIOCore
import SSEProtocol
import Testing

@Suite("Which events are patches, and reading them")
struct PatchParsingTests {
    static func event(_ data: String, name: String? = nil) -> ServerSentEvent {
        ServerSentEvent(event: name.map { try! EventName(validating: $0) }, data: data)
    }

    @Test func readsFragmentsVariablesAndExecInPublishedOrder() throws {
        let json = """
            { "js": {"zeta": [1, 2], "exec": "go()", "alpha": {"a": null}},
              "html": {"second": "<b>2</b>", "first": "<i>1</i>\\n<i>one</i>"} }
            """
        let patch = try #require(Patch(event: Self.event(json)))
        #expect(
            patch.html == [.init(id: "second", html: "<b>2</b>"), .init(id: "first", html: "<i>1</i>\n<i>one</i>")])
        #expect(patch.variables == [.init(name: "zeta", json: "[1,2]"), .init(name: "alpha", json: #"{"a":null}"#)])
        #expect(patch.exec == "go()")
    }

    @Test(arguments: [
        // Not JSON, not an object, or not only html/js.
        "hello", "", "[1]", "\"{}\"", "{}", #"{"html":{}}"#, #"{"js":{}}"#, #"{"html":{},"js":{}}"#,
        #"{"html":{"a":"x"},"data":"y"}"#, #"{"data":"x","event":"patch"}"#, #"{"html":{"a":"x"}} trailing"#,
        // Wrong shapes.
        #"{"html":"<p>"}"#, #"{"html":{"a":1}}"#, #"{"html":{"a":null}}"#, #"{"js":[1]}"#, #"{"js":{"exec":1}}"#,
        #"{"js":{"exec":null}}"#, #"{"js":{"":1}}"#,
        // Invalid element ids: empty, whitespace, control characters, too long.
        #"{"html":{"":"x"}}"#, #"{"html":{"a b":"x"}}"#, #"{"html":{"a\nb":"x"}}"#, #"{"html":{"a\u0000":"x"}}"#,
        #"{"html":{"a\u007f":"x"}}"#, "{\"html\":{\"\(String(repeating: "i", count: 65))\":\"x\"}}",
        // Duplicates, at any level.
        #"{"html":{"a":"x"},"html":{"b":"y"}}"#, #"{"html":{"a":"x","a":"y"}}"#, #"{"js":{"exec":"a","exec":"b"}}"#,
    ])
    func plainEventsAreNotPatches(data: String) {
        #expect(Patch(event: Self.event(data)) == nil)
    }

    @Test func aNamedEventIsNeverAPatch() {
        #expect(Patch(event: Self.event(#"{"html":{"a":"x"}}"#, name: "patch")) == nil)
        #expect(Patch(event: Self.event(#"{"html":{"a":"x"}}"#)) == Patch(html: [.init(id: "a", html: "x")]))
    }

    @Test func acceptsTheLongestElementIDAndAnyVariableValue() throws {
        let id = String(repeating: "é", count: 32)  // 64 bytes
        let patch = try #require(
            Patch(event: Self.event("{\"html\":{\"\(id)\":\"\"},\"js\":{\"n\":null,\"t\":true,\"s\":\"\\u00e9\"}}")))
        #expect(patch.html == [.init(id: id, html: "")])
        #expect(patch.variables.map(\.json) == ["null", "true", "\"é\""])
        #expect(
            Patch(event: Self.event(" \r\n\t" + #"{"html":{"a":"x"}} "#)) == Patch(html: [.init(id: "a", html: "x")]))
    }

    @Test func invalidUTF8DataIsAPlainEvent() {
        var data = ByteBuffer(string: #"{"html":{"a":""#)
        data.writeBytes([0xFF])
        data.writeString(#""}}"#)
        #expect(Patch(event: ServerSentEvent(data: data)) == nil)
    }

    @Test(arguments: [
        (
            "nope",
            #"patch is not valid JSON: malformed JSON at byte 1: expected "null"; expected {"html":{…},"js":{…}}"#
        ),
        ("[]", "patch is not a JSON object: expected {\"html\":{…},\"js\":{…}}"),
        (#"{"css":{}}"#, #"patch has member "css": expected only "html" and "js""#),
        (#"{"html":[]}"#, #"patch member "html" is not an object: expected {"elementId":"<html>"}"#),
        (
            #"{"html":{"a b":"x"}}"#,
            #"element id "a b" is invalid: use 1–64 bytes without whitespace or control characters"#
        ),
        (#"{"html":{"a":2}}"#, #"html for element "a" is not a string: expected a string of HTML"#),
        (#"{"js":"x"}"#, #"patch member "js" is not an object: expected {"name":value,"exec":"code"}"#),
        (#"{"js":{"exec":{}}}"#, #"js member "exec" is not a string: expected code to run"#),
        (#"{"js":{"":0}}"#, #"js variable name is empty: expected a name such as "postCount""#),
        (#"{"html":{}}"#, "patch is empty: expected at least one html fragment, js variable or exec"),
    ])
    func parseErrorsAreOneLineAndSayWhatWasExpected(json: String, message: String) {
        let error = #expect(throws: Patch.ParseError.self) { try Patch(parsing: json) }
        #expect(error?.description == message)
    }

    /// Property: any patch written by `json()` reads back identical, whatever its strings hold.
    @Test func randomPatchesRoundTripThroughTheirJSON() throws {
        var generator = SeededGenerator(seed: 0xDA7A_2026)
        let pieces = ["a", "Z", " ", "\n", "\r", "\r\n", "\0", "\t", "\"", "\\", "/", "é", "🎉", "\u{2028}", "<", "}"]
        func text(_ maximum: Int) -> String {
            (0..<Int.random(in: 0...maximum, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }
                .joined()
        }
        let values = ["0", "-1.5e3", "true", "null", #""s""#, #"[1,{"a":[]}]"#, #"{"k":"\n"}"#]
        for _ in 0..<500 {
            var patch = Patch()
            for index in 0..<Int.random(in: 0...3, using: &generator) {
                patch.html.append(.init(id: "el-\(index)-é", html: text(12)))
            }
            for index in 0..<Int.random(in: 0...3, using: &generator) {
                patch.variables.append(
                    .init(name: "v\(index)" + text(3), json: values.randomElement(using: &generator)!))
            }
            if Bool.random(using: &generator) { patch.exec = text(10) }
            if patch.isEmpty { patch.exec = "" }
            #expect(try Patch(parsing: patch.json()) == patch, "\(patch.json())")
            #expect(Patch(event: ServerSentEvent(data: patch.json())) == patch)
        }
    }
}
