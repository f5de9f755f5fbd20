import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import SSEProtocol
import ServerSupport

extension GatewayHTTPHandler {
    // MARK: The node registry

    /// `GET /sse-nodes` (the live nodes) and `GET /sse-presence?topic=T` (one topic across them): read from Redis,
    /// so answered when the read completes. No other request of the connection is answered meanwhile (``answering``
    /// is held), which keeps pipelined answers in order.
    ///
    /// `/sse-presence` names the subjects of a topic's streams: it is authorized exactly as `GET /sse?topic=T`
    /// would be, so a private topic's presence needs a token that grants the topic.
    func answerRegistry(
        path: String, query: QueryString, head: HTTPRequestHead, keepAlive: Bool, context: ChannelHandlerContext
    ) {
        var topic: Topic?
        if path == "/sse-presence" {
            guard let name = query.first("topic") else {
                reject(
                    HTTPFailure(.badRequest, "missing topic: use /sse-presence?topic=NAME"), context: context,
                    keepAlive: keepAlive)
                return
            }
            do {
                let valid = try Topic(validating: name)
                let cors = try gateway.cors.verdict(for: head)
                _ = try gateway.authorizer.authorize([valid], head: head, query: query, cors: cors, now: Date())
                topic = valid
            } catch let refusal as StreamAuthorizer.Refusal {
                reject(refusal.failure, context: context, keepAlive: keepAlive)
                return
            } catch let error as SSEProtocolError {
                reject(HTTPFailure(.badRequest, "\(error)"), context: context, keepAlive: keepAlive)
                return
            } catch {
                reject(error, context: context, keepAlive: keepAlive)
                return
            }
        }
        answering = true
        let chosen = topic
        let registry = gateway.registry
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask { try await registry.liveNodes() }.whenComplete { result in
            let (handler, context) = bound.value
            handler.answering = false
            switch result {
            case .success(let documents):
                let body =
                    chosen.map { ClusterPresence(topic: $0.name, documents: documents).encoded() }
                    ?? NodeList(nodes: documents.map(\.summary)).encoded()
                handler.respond(
                    .ok, body + "\n", contentType: "application/json", keepAlive: keepAlive, context: context)
            case .failure(let error):
                let reason = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
                handler.reject(
                    HTTPFailure(
                        .serviceUnavailable, "node registry unavailable: \(reason)", headers: [.retryAfter: "1"]),
                    context: context, keepAlive: keepAlive)
            }
        }
    }
}
