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

    /// Publishes reliably and prints the event id; with `key`, a repeat within `windowSeconds` prints the first
    /// id and publishes nothing.
    func publish(
        _ topic: Topic, event: String?, data: String, key: IdempotencyKey? = nil, windowSeconds: Int = 86_400
    ) async throws {
        let length = try maxLength()
        let client = try client()
        do {
            let history = History(runner: client)
            if let key {
                let receipt = try await history.publish(
                    topic, event: event, data: data, maxLength: length, idempotencyKey: key,
                    windowSeconds: windowSeconds)
                print(receipt.id)
            } else {
                print(try await history.publish(topic, event: event, data: data, maxLength: length))
            }
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
    @Option(
        help: "Names this publish, so a retry is safe: a repeat on the topic within the window prints the first id.")
    var idempotencyKey: String?
    @Option(help: "Seconds a key answers its first id [SSE_IDEMPOTENCY_WINDOW_SECONDS, default 86400].")
    var idempotencyWindow: Int?
    @Argument(help: "Topic name.") var topic: String
    @Argument(help: "Event data (any text; line breaks become several data: lines).") var data: String

    func run() async throws {
        let key: IdempotencyKey?
        do {
            key = try idempotencyKey.map { value throws(IdempotencyKeyError) in try IdempotencyKey(validating: value) }
        } catch {
            throw ValidationError("\(error)")
        }
        let window = try Setting.resolve(
            idempotencyWindow, environment: "SSE_IDEMPOTENCY_WINDOW_SECONDS", default: 86_400, expected: "seconds")
        guard window >= 1 else {
            throw ValidationError("idempotency window \(window) is invalid: expected a positive number of seconds")
        }
        try await redis.publish(try Topic(validating: topic), event: event, data: data, key: key, windowSeconds: window)
    }
}
