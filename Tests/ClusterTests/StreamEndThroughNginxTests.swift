import Foundation
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

extension EndToEnd {
    /// How a stream ends must survive the project's nginx: a node that breaks a stream off (crash, drain) reaches
    /// the browser as a broken chunked body, which fetch-based clients retry; a stream ended on purpose reaches it
    /// as a complete one, which they do not.
    @Suite("Stream ends through nginx")
    struct StreamEndThroughNginxTests {
        @Test func aBrokenStreamStaysBrokenAndAFinishedOneStaysFinishedThroughNginx() async throws {
            let cluster = try await TestCluster.start(nodeCount: 3, gatewayArguments: ["--drain-seconds", "0.2"])
            defer { cluster.stop() }
            let publisher = try await TestPublisher.connect(cluster.redis)
            defer { publisher.close() }
            // One stream per node: nginx balances least_conn, so three streams opened while none is closed land on
            // three different nodes.
            var streams: [SSETestClient] = []
            for _ in 0..<3 {
                let stream = try await SSETestClient.open(port: cluster.port, path: "/sse?topic=ends")
                try await stream.waitUntilConnected()
                streams.append(stream)
            }
            let node = { (stream: SSETestClient) throws -> Int in
                let comment = try #require(stream.comments.first { $0.hasPrefix("connected to ") })
                return try #require(cluster.nodeIDs.firstIndex(of: String(comment.dropFirst(13))))
            }
            let served = try streams.map(node)
            #expect(Set(served).count == 3, "one stream per node: \(served)")
            let id = try await publisher.publish("ends", "first")
            for stream in streams {
                try await stream.waitForEvents(1)
                #expect(stream.header("Transfer-Encoding") == "chunked")
            }

            let crashed = streams[0]
            cluster.nodes[served[0]].kill()
            let drained = streams[1]
            cluster.nodes[served[1]].signal(SIGTERM)
            for stream in [crashed, drained] {
                try await waitUntil("the stream breaks") { stream.isClosed }
                #expect(!stream.isBodyComplete && stream.malformedResponse == nil)
                #expect(stream.events == [.init(id: id, data: "first")])
            }

            let finished = streams[2]
            try await publisher.connection.send(
                "PUBLISH", "sse:control", #"{"end":{"topic":"ends","reason":"done"}}"#)
            // nginx ends the response with the last chunk and keeps the browser's connection for the next request.
            try await waitUntil("the finished stream's body completes") { finished.isBodyComplete }
            #expect(
                finished.events == [
                    .init(id: id, data: "first"), .init(event: "end", data: #"{"reason":"done","topics":["ends"]}"#),
                ])
            #expect(String(decoding: finished.rawBody.suffix(5), as: UTF8.self) == "0\r\n\r\n")
        }
    }
}
