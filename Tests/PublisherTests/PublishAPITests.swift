import Foundation
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

@Suite("The publish API: authorization, bodies, delivery (in process; real processes for delivery)")
struct PublishAPITests {
    static let json = [("Content-Type", "application/json")]
    static let authorized = [("Authorization", "Bearer \(BoardStack.token)")] + json

    @Test func authorizationIsCheckedBeforeTheBody() async throws {
        try await InProcessBoard.with { stack in
            let publisher = stack.publisher
            let body = #"{"topic":"news","data":"x"}"#
            let missing = try await publisher.send("POST", "/publish", headers: Self.json, body: body)
            #expect(missing.status == 401)
            #expect(missing.header("WWW-Authenticate") == #"Bearer realm="sse-publisher""#)
            #expect(missing.body == "missing bearer token: send Authorization: Bearer <token>\n")

            let basic = try await publisher.send(
                "POST", "/publish", headers: [("Authorization", "Basic dXNlcjpwYXNz")] + Self.json, body: body)
            #expect(basic.status == 401)
            #expect(basic.header("WWW-Authenticate") == #"Bearer realm="sse-publisher""#)
            #expect(basic.body == "Authorization must use the Bearer scheme: send Authorization: Bearer <token>\n")

            for wrong in ["wrong", BoardStack.token + "x", String(BoardStack.token.dropLast()), "TEST-TOKEN-7F3A9C"] {
                let response = try await publisher.send(
                    "POST", "/publish", headers: [("Authorization", "Bearer \(wrong)")] + Self.json, body: "not json")
                #expect(response.status == 403, "\(wrong)")
                #expect(response.body == "bearer token is not valid for this service\n")
            }
            let lowercaseScheme = try await publisher.send(
                "POST", "/publish", headers: [("Authorization", "bearer \(BoardStack.token)")] + Self.json, body: body)
            #expect(lowercaseScheme.status == 202)
        }
    }

    @Test func aPublishedEventAndAPatchReachAStreamWithTheReturnedIDs() async throws {
        try await BoardStack.with { stack in
            let client = try await SSETestClient.open(port: stack.gateway.port, path: "/sse?topic=news")
            try await client.waitUntilConnected()
            defer { client.close() }

            let event = try await stack.publisher.send(
                "POST", "/publish", headers: Self.authorized,
                body: #"{"topic":"news","event":"note","data":"line one\nline two"}"#)
            #expect(event.status == 202)
            #expect(event.header("Content-Type") == "application/json")
            let patch = try await stack.publisher.send(
                "POST", "/publish", headers: Self.authorized,
                body: #"""
                    {"js": {"score": 1.50, "exec": "go()", "user": {"name": "ü", "tags": [true, null]}},
                     "html": {"b": "<i>2</i>", "a": "1"}, "topic": "news", "event": null}
                    """#)
            #expect(patch.status == 202)
            try await client.waitForEvents(2)

            let ids = client.events.compactMap(\.id)
            try #require(ids.count == 2)
            #expect(event.body == "{\"id\":\"\(ids[0])\",\"topic\":\"news\"}\n")
            #expect(patch.body == "{\"id\":\"\(ids[1])\",\"topic\":\"news\"}\n")
            #expect(
                framesAfterOpening(client)
                    == "id: \(ids[0])\nevent: note\ndata: line one\ndata: line two\n\n"
                    + "id: \(ids[1])\ndata: {\"html\":{\"b\":\"<i>2</i>\",\"a\":\"1\"},"
                    + "\"js\":{\"score\":1.50,\"user\":{\"name\":\"ü\",\"tags\":[true,null]},\"exec\":\"go()\"}}\n\n")
        }
    }

    @Test func everyBadBodyGetsItsStatusAndOneLineReason() async throws {
        try await InProcessBoard.with { stack in
            let cases: [(body: String, status: Int, reason: String)] = [
                ("", 400, "malformed JSON at byte 0: expected a value"),
                (#"{"topic":"news",}"#, 400, #"malformed JSON at byte 16: expected a member name in double quotes"#),
                (#"{"topic":"news"} x"#, 400, "malformed JSON at byte 17: expected the end of the input"),
                (
                    #"{"topic":"a\ud800"}"#, 400,
                    #"malformed JSON at byte 17: expected a low surrogate escape after \uD800"#
                ),
                (#"["news"]"#, 422, #"body is an array: expected a JSON object such as {"topic":"news","data":"hi"}"#),
                (#"{"data":"x"}"#, 422, #"missing topic: give "topic": "NAME""#),
                (#"{"topic":7,"data":"x"}"#, 422, #"topic is a number: expected a string such as "news""#),
                (
                    #"{"topic":"a b","data":"x"}"#, 422,
                    #"topic "a b" is invalid: use letters, digits and - _ . : (1–128 characters)"#
                ),
                (
                    #"{"topic":"news","data":"x","colour":"red"}"#, 422,
                    #"unknown member "colour": expected topic, event, data, html or js"#
                ),
                (#"{"topic":"news","topic":"other","data":"x"}"#, 422, #"member "topic" is given twice"#),
                (
                    #"{"topic":"news"}"#, 422,
                    "nothing to publish: give data (a plain event) or html and/or js (a patch)"
                ),
                (
                    #"{"topic":"news","data":"x","html":{"a":"b"}}"#, 422,
                    "data cannot be combined with html or js: publish a plain event (data, event) or a patch (html, js)"
                ),
                (
                    #"{"topic":"news","event":"e","js":{"a":1}}"#, 422,
                    "event cannot be combined with html or js: a patch is published without an event name"
                ),
                (
                    #"{"topic":"news","data":{"a":1}}"#, 422,
                    #"data is an object: expected a string (send JSON as text, e.g. "{\"a\":1}")"#
                ),
                (
                    #"{"topic":"news","event":5,"data":"x"}"#, 422,
                    #"event is a number: expected a string such as "update""#
                ),
                (
                    #"{"topic":"news","event":" padded","data":"x"}"#, 422,
                    #"event name " padded" is invalid: use 1–64 bytes of text without CR, LF or NUL and without leading or trailing spaces"#
                ),
                (
                    #"{"topic":"news","html":"<b>"}"#, 422,
                    #"html is a string: expected an object of element id to HTML, e.g. {"posts":"<li>hi</li>"}"#
                ),
                (
                    #"{"topic":"news","html":{}}"#, 422,
                    #"html is empty: expected an object of element id to HTML, e.g. {"posts":"<li>hi</li>"}"#
                ),
                (
                    #"{"topic":"news","html":{"a b":"x"}}"#, 422,
                    #"html id "a b" is invalid: use 1–64 bytes without whitespace or control characters"#
                ),
                (#"{"topic":"news","html":{"a":1}}"#, 422, #"html["a"] is a number: expected a string of HTML"#),
                (#"{"topic":"news","html":{"a":"x","a":"y"}}"#, 422, #"html id "a" is given twice"#),
                (
                    #"{"topic":"news","js":{"n":{"a":1,"a":2}}}"#, 422,
                    #"js "n" repeats a member name inside its value: each name once per object"#
                ),
                (
                    #"{"topic":"news","js":[]}"#, 422,
                    #"js is an array: expected an object such as {"postCount":3,"exec":"code"}"#
                ),
                (#"{"topic":"news","js":{"exec":42}}"#, 422, "js.exec is a number: expected a string of JavaScript"),
                (#"{"topic":"news","js":{"":1}}"#, 422, "js has an empty name: expected a variable name or exec"),
            ]
            for (body, status, reason) in cases {
                let response = try await stack.publisher.send(
                    "POST", "/publish", headers: Self.authorized, body: body)
                #expect(response.status == status, "\(body)")
                #expect(response.header("Content-Type") == "text/plain; charset=utf-8", "\(body)")
                #expect(response.body == reason + "\n", "\(body)")
            }

            let tooLarge = try await stack.publisher.send(
                "POST", "/publish", headers: Self.authorized,
                body: #"{"topic":"news","data":""# + String(repeating: "x", count: 64 * 1024) + #""}"#)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.body == "request body too large: at most 65536 bytes\n")

            let form = try await stack.publisher.send(
                "POST", "/publish",
                headers: [
                    ("Authorization", "Bearer \(BoardStack.token)"),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ], body: #"{"topic":"news","data":"x"}"#)
            #expect(form.status == 415)
            #expect(
                form.body
                    == "Content-Type \"application/x-www-form-urlencoded\" is not supported: send application/json\n")
            #expect(try await stack.connection.send("EXISTS", "sse:{news}:history").int == 0)
        }
    }

    @Test func withoutATokenTheAPIIsDisabled() async throws {
        let configuration = InProcessPublisher.configuration(
            redisURL: InProcessPublisher.unreachableRedisURL, token: nil)
        try await InProcessPublisher.with(configuration) { publisher in
            let response = try await publisher.send(
                "POST", "/publish", headers: Self.authorized, body: #"{"topic":"news","data":"x"}"#)
            #expect(response.status == 503)
            #expect(response.body == "publish API disabled: set SSE_PUBLISH_TOKEN\n")
            let get = try await publisher.get("/publish")
            #expect(get.status == 405)
            #expect(get.body == "GET not allowed on /publish: use POST\n")
        }
    }
}
