import Foundation
import LocalRedis
import SSETestSupport
import Testing

@Suite("/datastar-sdk-test end to end (real sse-publisher)")
struct DatastarEndpointTests {
    static func withPublisher(_ body: (PublisherProcess) async throws -> Void) async throws {
        try await withLocalRedis { redis in
            try await body(try await PublisherProcess.start(redis: redis))
        }
    }

    static func queryEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    @Test func getWithTheDatastarParameterAnswersTheADRsFrames() async throws {
        try await Self.withPublisher { publisher in
            let json =
                #"{"events":[{"type":"patchElements","elements":"<div id=\"a\">hi</div>","mode":"inner","eventId":"e1"}]}"#
            let response = try await HTTPProbe.get(
                port: publisher.port, path: "/datastar-sdk-test?datastar=\(Self.queryEncoded(json))")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "text/event-stream")
            #expect(response.header("Cache-Control") == "no-cache")
            #expect(
                response.body
                    == "event: datastar-patch-elements\nid: e1\ndata: mode inner\ndata: elements <div id=\"a\">hi</div>\n\n"
            )
        }
    }

    @Test func postWithAJSONBodyAnswersEveryEventInOrder() async throws {
        try await Self.withPublisher { publisher in
            let response = try await publisher.send(
                "POST", "/datastar-sdk-test", headers: [("Content-Type", "application/json")],
                body: #"""
                    {"events": [
                      {"type": "patchSignals", "signals": {"count": 1, "user": {"name": "x"}}},
                      {"type": "executeScript", "script": "console.log(1)"},
                      {"type": "patchElements", "elements": "<p>a</p>\n<p>b</p>", "selector": "#list", "mode": "append"}
                    ], "other": "signals are ignored"}
                    """#)
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "text/event-stream")
            #expect(
                response.body
                    == "event: datastar-patch-signals\ndata: signals {\"count\":1,\"user\":{\"name\":\"x\"}}\n\n"
                    + "event: datastar-patch-elements\ndata: mode append\ndata: selector body\n"
                    + "data: elements <script data-effect=\"el.remove()\">console.log(1)</script>\n\n"
                    + "event: datastar-patch-elements\ndata: selector #list\ndata: mode append\n"
                    + "data: elements <p>a</p>\ndata: elements <p>b</p>\n\n")
        }
    }

    @Test func requestsItCannotAnswerGet400WithOneLine() async throws {
        try await Self.withPublisher { publisher in
            let missing = try await HTTPProbe.get(port: publisher.port, path: "/datastar-sdk-test")
            #expect(missing.status == 400)
            #expect(
                missing.body == "missing datastar query parameter: expected ?datastar=<url-encoded {\"events\":[…]}>\n")

            let unknown = try await publisher.send(
                "POST", "/datastar-sdk-test", headers: [("Content-Type", "application/json")],
                body: #"{"events":[{"type":"nope"}]}"#)
            #expect(unknown.status == 400)
            #expect(unknown.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(
                unknown.body
                    == "events[0] has type \"nope\": expected one of patchElements, removeElements, patchSignals, "
                    + "removeSignals, executeScript\n")

            let noEvents = try await HTTPProbe.get(
                port: publisher.port, path: "/datastar-sdk-test?datastar=\(Self.queryEncoded("{}"))")
            #expect(noEvents.status == 400)
            #expect(
                noEvents.body
                    == "Datastar SDK test body has no \"events\" array: expected {\"events\":[{\"type\":\"patchElements\",…}]}\n"
            )
        }
    }
}
