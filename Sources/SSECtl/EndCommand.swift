import ArgumentParser
import RedisClient
import SSEProtocol

/// `ssectl end TOPIC`: finishes, on purpose, every stream of a topic on every node (see ``ControlMessage``).
struct EndCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "end",
        abstract: "End every stream of a topic on every gateway node, so that clients do not come back.",
        discussion: """
            Each stream that follows TOPIC gets an `end` event ({"reason":…,"topics":[…]}) and a complete \
            (chunked) body: a fetch-based client stops instead of retrying; pages close their EventSource on `end`. \
            Prints the number of subscribers of the control channel that received the message: the gateway \
            nodes, plus each publisher with token keys (it listens there for revocations). On a Redis Cluster the \
            message reaches every node, and the count is the subscribers of the node it was sent to.
            """)

    @OptionGroup var redis: RedisOptions
    @Option(help: "Why the streams end, sent in the end event (one line, 1–200 characters).") var reason = "ended"
    @Argument(help: "Topic name.") var topic: String

    func validate() throws {
        do {
            _ = try Topic(validating: topic)
            _ = try ControlMessage.validReason(reason)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        let message = ControlMessage.end(topic: try Topic(validating: topic), reason: reason)
        let access = try redis.connect()
        do {
            let reply = try await access.control.send(
                RedisCommand("PUBLISH", ControlMessage.channel, message.payload))
            guard case .integer(let nodes) = reply else { throw ValidationError("PUBLISH answered \(reply)") }
            print(nodes)
            await access.close()
        } catch {
            await access.close()
            throw error
        }
    }
}
