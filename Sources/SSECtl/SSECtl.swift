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
        subcommands: [Publish.self])
}

/// Options every subcommand that talks to Redis shares.
struct RedisOptions: ParsableArguments {
    @Option(help: "Redis URL [SSE_REDIS_URL, default redis://127.0.0.1:6379].") var redisURL: String?

    func client() throws -> RedisClient {
        let url = try Setting.resolve(
            redisURL, environment: "SSE_REDIS_URL", default: "redis://127.0.0.1:6379", expected: "redis://host:port")
        return RedisClient(configuration: try RedisConfiguration(url: url))
    }
}

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish an event reliably (kept in history for replay) and print its id.")

    @OptionGroup var redis: RedisOptions
    @Option(help: "Event name (the SSE event: field).") var event: String?
    @Option(help: "Events kept in the topic's history [SSE_HISTORY_LENGTH, default 1000].") var historyLength: Int?
    @Argument(help: "Topic name.") var topic: String
    @Argument(help: "Event data (any text; line breaks become several data: lines).") var data: String

    func run() async throws {
        let topic = try Topic(validating: self.topic)
        let length = try Setting.resolve(
            historyLength, environment: "SSE_HISTORY_LENGTH", default: 1000, expected: "a count")
        let client = try redis.client()
        defer { Task { await client.close() } }
        let id = try await History(runner: client).publish(topic, event: event, data: data, maxLength: length)
        print(id)
        await client.close()
    }
}
