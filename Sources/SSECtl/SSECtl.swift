import ArgumentParser
import RedisClient
import SSEProtocol
import ServerSupport

/// `ssectl`: operate a gateway deployment from the shell.
@main
struct SSECtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssectl",
        abstract: "Publish to and inspect an SSE gateway deployment.",
        subcommands: [Publish.self, PatchCommand.self, Tail.self, EndCommand.self])
}

/// Options every subcommand that talks to Redis shares.
struct RedisOptions: ParsableArguments {
    @Option(help: "Redis URL [SSE_REDIS_URL, default redis://127.0.0.1:6379].") var redisURL: String?
    @Option(help: "Events kept in the topic's history [SSE_HISTORY_LENGTH, default 1000].") var historyLength: Int?

    func client() throws -> RedisClient {
        let url = try Setting.resolve(
            redisURL, environment: "SSE_REDIS_URL", default: "redis://127.0.0.1:6379", expected: "redis://host:port")
        return RedisClient(configuration: try RedisConfiguration(url: url))
    }

    func maxLength() throws -> Int {
        try Setting.resolve(historyLength, environment: "SSE_HISTORY_LENGTH", default: 1000, expected: "a count")
    }

    /// Publishes reliably and prints the event id.
    func publish(_ topic: Topic, event: String?, data: String) async throws {
        let length = try maxLength()
        let client = try client()
        do {
            let id = try await History(runner: client).publish(topic, event: event, data: data, maxLength: length)
            print(id)
            await client.close()
        } catch {
            await client.close()
            throw error
        }
    }
}

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish an event reliably (kept in history for replay) and print its id.")

    @OptionGroup var redis: RedisOptions
    @Option(help: "Event name (the SSE event: field).") var event: String?
    @Argument(help: "Topic name.") var topic: String
    @Argument(help: "Event data (any text; line breaks become several data: lines).") var data: String

    func run() async throws {
        try await redis.publish(try Topic(validating: topic), event: event, data: data)
    }
}
