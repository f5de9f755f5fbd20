import Foundation
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

@Suite("The live board: form posts, the model in Redis, patches through the gateway (real processes)")
struct BoardPostTests {
    @Test func aFormPostStoresThePostAndAnEngineClientReceivesTheExactPatchFrames() async throws {
        try await BoardStack.with { stack in
            let client = try await stack.openBoardStream()
            defer { client.close() }

            let response = try await stack.publisher.postForm(
                "/add_post", [("author", "  Ada  "), ("text", " Hello, \"board\" & all\r\nsecond line ")])
            #expect(response.status == 303)
            #expect(response.header("Location") == "/")
            #expect(response.body == "")
            try await client.waitForEvents(3)

            let posts = try await stack.storedPosts()
            try #require(posts.count == 1)
            #expect(posts[0]["version"] as? Int == 1)
            #expect(posts[0]["author"] as? String == "Ada")
            #expect(posts[0]["text"] as? String == "Hello, \"board\" & all\nsecond line")
            let at = try #require(posts[0]["at"] as? Int64)
            #expect(try await stack.stats() == ["version": "1", "posts": "1"])
            #expect(try await stack.connection.send("GET", "board:{board}:published").string == "1")

            let history = try await stack.history()
            try #require(history.count == 3)
            let item = ExpectedBoard.postItem(
                version: 1, escapedAuthor: "Ada", escapedText: "Hello, &quot;board&quot; &amp; all\nsecond line",
                milliseconds: at)
            let expected =
                "id: \(history[0].id)\ndata: {\"html\":{\"posts\":\(ExpectedBoard.jsonString(item))}}\n\n"
                + "id: \(history[1].id)\ndata: {\"js\":{\"postCount\":1}}\n\n"
                + "id: \(history[2].id)\ndata: {\"js\":{\"exec\":\"window.engine && engine.notify(\\\"New post by Ada\\\")\"}}\n\n"
            #expect(framesAfterOpening(client) == expected)
            #expect(client.events.map(\.id) == history.map(\.id))
        }
    }

    @Test func scriptTextArrivesEscapedInThePatchAndInThePage() async throws {
        try await BoardStack.with { stack in
            let client = try await stack.openBoardStream()
            defer { client.close() }
            let response = try await stack.publisher.postForm(
                "/add_post", [("author", "<img src=x onerror=alert(2)>"), ("text", "<script>alert(1)</script>")])
            #expect(response.status == 303)
            try await client.waitForEvents(3)

            let at = try #require(try await stack.storedPosts().first?["at"] as? Int64)
            let item = ExpectedBoard.postItem(
                version: 1, escapedAuthor: "&lt;img src=x onerror=alert(2)&gt;",
                escapedText: "&lt;script&gt;alert(1)&lt;/script&gt;", milliseconds: at)
            let events = client.events
            #expect(events[0].data == "{\"html\":{\"posts\":\(ExpectedBoard.jsonString(item))}}")
            // The notification's script carries the name with < > & as \u escapes, inert even inside <script>.
            #expect(
                events[2].data
                    == #"{"js":{"exec":"window.engine && engine.notify(\"New post by \\u003cimg src=x onerror=alert(2)\\u003e\")"}}"#
            )
            for event in events { #expect(!event.data.contains("<script>") && !event.data.contains("<img")) }

            let page = try await HTTPProbe.get(port: stack.publisher.port, path: "/")
            #expect(page.status == 200)
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            #expect(page.body.contains("<ol id=\"posts\" class=\"posts\" aria-live=\"polite\">\(item)</ol>"))
            #expect(!page.body.contains("<script>alert"))
            #expect(!page.body.contains("<img src=x"))
        }
    }

    @Test func thePageShowsTheCurrentModelNewestFirstWithCountAndResumeID() async throws {
        try await BoardStack.with { stack in
            let empty = try await HTTPProbe.get(port: stack.publisher.port, path: "/")
            #expect(empty.status == 200)
            #expect(
                empty.body.contains(
                    #"<ol id="posts" class="posts" aria-live="polite"><li class="empty">No posts yet: be the first.</li></ol>"#
                ))
            #expect(empty.body.contains(#"<span data-bind="postCount">0</span> posts so far"#))
            #expect(empty.body.contains(#"data-last-event-id="""#))

            for (author, text) in [("", "first"), ("bob", "second"), ("cy", "third")] {
                let response = try await stack.publisher.postForm("/add_post", [("author", author), ("text", text)])
                #expect(response.status == 303)
            }
            let posts = try await stack.storedPosts()
            let items = posts.map { post in
                ExpectedBoard.postItem(
                    version: post["version"] as? Int ?? 0, escapedAuthor: post["author"] as? String ?? "",
                    escapedText: post["text"] as? String ?? "", milliseconds: post["at"] as? Int64 ?? 0)
            }
            #expect(posts.map { $0["author"] as? String } == ["cy", "bob", "anonymous"])
            let lastID = try #require(try await stack.history().last?.id)

            let page = try await HTTPProbe.get(port: stack.publisher.port, path: "/")
            #expect(page.body.contains("<ol id=\"posts\" class=\"posts\" aria-live=\"polite\">\(items.joined())</ol>"))
            #expect(page.body.contains(#"<span data-bind="postCount">3</span> posts so far"#))
            #expect(page.body.contains("data-last-event-id=\"\(lastID)\""))
            #expect(page.body.contains(#"data-topic="board" data-sse-url="" data-heartbeat="15""#))

            let model = try await HTTPProbe.get(port: stack.publisher.port, path: "/model")
            #expect(model.status == 200)
            #expect(model.header("Content-Type") == "application/json")
            #expect(
                model.body
                    == "{\"id\":\"\(lastID)\",\"patch\":{\"html\":{\"posts\":\(ExpectedBoard.jsonString(items.joined()))},"
                    + "\"js\":{\"postCount\":3}}}\n")
        }
    }

    @Test func theListIsCappedWhileTheCountersKeepCounting() async throws {
        try await BoardStack.with(publisherArguments: ["--board-length", "3"]) { stack in
            for index in 1...5 {
                let response = try await stack.publisher.postForm("/add_post", [("text", "post \(index)")])
                #expect(response.status == 303)
            }
            let posts = try await stack.storedPosts()
            #expect(posts.map { $0["text"] as? String } == ["post 5", "post 4", "post 3"])
            #expect(posts.map { $0["version"] as? Int } == [5, 4, 3])
            #expect(try await stack.stats() == ["version": "5", "posts": "5"])
            #expect(try await stack.connection.send("LLEN", "board:{board}:posts").int == 3)
            let last = try #require(try await stack.history().suffix(2).first)
            #expect(last.data == #"{"js":{"postCount":5}}"#)
        }
    }

    @Test func aBoardEmptiedByDeletingItsKeysPublishesTheNextPostNormally() async throws {
        try await BoardStack.with { stack in
            for index in 1...3 {
                #expect(try await stack.publisher.postForm("/add_post", [("text", "old \(index)")]).status == 303)
            }
            try await stack.connection.send("DEL", "board:{board}:posts", "board:{board}:stats")
            let client = try await stack.openBoardStream()
            defer { client.close() }
            #expect(try await stack.publisher.postForm("/add_post", [("text", "fresh")]).status == 303)
            try await client.waitForEvents(3)
            let posts = try await stack.storedPosts()
            #expect(posts.map { $0["version"] as? Int } == [4])
            #expect(try await stack.stats() == ["version": "4", "posts": "1"])
            #expect(client.events[0].data.contains(#"id=\"post-4\""#))
            #expect(client.events[1].data == #"{"js":{"postCount":1}}"#)
        }
    }

    @Test func eachKindOfClientGetsTheAnswerThatResetsItsForm() async throws {
        try await BoardStack.with { stack in
            let htmx = try await stack.publisher.postForm(
                "/add_post", [("text", "from htmx")], headers: [("HX-Request", "true")])
            #expect(htmx.status == 200)
            #expect(htmx.header("Content-Type") == "text/html; charset=utf-8")
            #expect(
                htmx.body == """
                    <form id="post-form" class="post-form" method="post" action="/add_post" hx-post="/add_post" hx-swap="outerHTML">
                    <label for="post-author">Name</label>
                    <input id="post-author" name="author" maxlength="40" value="" placeholder="anonymous" autocomplete="nickname">
                    <label for="post-text">Message</label>
                    <textarea id="post-text" name="text" maxlength="280" rows="3" required></textarea>
                    <ul id="post-errors" class="errors" data-errors></ul>
                    <button type="submit">Post</button>
                    </form>
                    """)

            let engine = try await stack.publisher.postForm(
                "/add_post", [("text", "from engine.js")], headers: [("X-Engine-Request", "1")])
            #expect(engine.status == 200)
            #expect(engine.body == #"<ul id="post-errors" class="errors" data-errors></ul>"#)
            #expect(try await stack.stats() == ["version": "2", "posts": "2"])
        }
    }

    @Test func concurrentPostsThroughTwoPublishersNeverPublishAnOlderRenderAfterANewerOne() async throws {
        try await BoardStack.with { stack in
            let second = try await PublisherProcess.start(redis: stack.redis)
            let client = try await stack.openBoardStream()
            defer { client.close() }
            let total = 40
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<total {
                    let process = index.isMultiple(of: 2) ? stack.publisher : second
                    group.addTask {
                        try await process.postForm(
                            "/add_post", [("author", "p\(index)"), ("text", "message \(index)")],
                            headers: [("X-Engine-Request", "1")]
                        ).status
                    }
                }
                for try await status in group { #expect(status == 200) }
            }
            #expect(try await stack.stats() == ["version": "\(total)", "posts": "\(total)"])
            #expect(try await stack.connection.send("GET", "board:{board}:published").string == "\(total)")

            // In history order, every list render shows a newer version than the one before, and the last shows all.
            let history = try await stack.history()
            let renderedVersions = history.filter { $0.data.hasPrefix(#"{"html":"#) }.map { entry -> Int in
                let marker = #"id=\"post-"#
                guard let range = entry.data.range(of: marker) else { return -1 }
                return Int(entry.data[range.upperBound...].prefix { $0.isNumber }) ?? -1
            }
            #expect(!renderedVersions.isEmpty)
            #expect(zip(renderedVersions, renderedVersions.dropFirst()).allSatisfy { $0 < $1 }, "\(renderedVersions)")
            #expect(renderedVersions.last == total)
            let counts = history.filter { $0.data.hasPrefix(#"{"js":{"postCount""#) }.map(\.data)
            #expect(counts.count == renderedVersions.count)
            #expect(counts.last == "{\"js\":{\"postCount\":\(total)}}")
            #expect(history.filter { $0.data.contains("engine.notify") }.count == total)

            // The stream saw the same events, and its last list equals the model a fresh page gets.
            try await client.waitForEvents(history.count)
            #expect(client.events.map(\.id) == history.map(\.id))
            let model = try await HTTPProbe.get(port: stack.publisher.port, path: "/model")
            let lastList = try #require(client.events.last { $0.data.hasPrefix(#"{"html":"#) })
            let listJSON = String(lastList.data.dropFirst(#"{"html":"#.count).dropLast())
            #expect(model.body.contains(listJSON))
        }
    }
}
