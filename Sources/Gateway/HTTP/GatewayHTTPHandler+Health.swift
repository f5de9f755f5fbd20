import NIOCore
import NIOHTTP1
import ServerSupport

extension GatewayHTTPHandler {
    // MARK: Health

    /// `GET /sse-health`: the node's streams in aggregate and the top N by an order (``HealthQuery``), gathered from
    /// every loop (``HealthGathering``) while this connection waits, answering nothing else meanwhile (a pipelined
    /// request behind it waits its turn).
    func answerHealth(query: QueryString, keepAlive: Bool, context: ChannelHandlerContext) {
        let health: HealthQuery
        do {
            health = try HealthQuery(query)
        } catch {
            reject(error, context: context, keepAlive: keepAlive)
            return
        }
        answering = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        HealthGathering.gather(
            fanout: gateway.fanout, nodeID: gateway.configuration.nodeID, query: health, on: context.eventLoop
        ).whenSuccess { report in
            let (handler, context) = bound.value
            handler.respond(
                .ok, HealthReport.encode(report) + "\n", contentType: "application/json", keepAlive: keepAlive,
                context: context)
        }
    }
}
