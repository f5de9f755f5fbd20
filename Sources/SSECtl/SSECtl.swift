import ArgumentParser
import RedisClient
import SSEHistory
import SSEProtocol
import ServerSupport

/// `ssectl`: operate a gateway deployment from the shell.
@main
struct SSECtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssectl",
        abstract: "Publish to and inspect an SSE gateway deployment.",
        subcommands: [
            Publish.self, PatchCommand.self, Tail.self, EndCommand.self, RevokeCommand.self, TokenCommand.self,
            TopCommand.self,
        ])
}

extension SSECtl {
    /// Every setting `ssectl` reads (its other options are per invocation and have no variable).
    static let settings: [SettingDescriptor] = [
        SharedSettings.redisURL.descriptor, SharedSettings.historyLength.descriptor,
        SharedSettings.idempotencyWindowSeconds.descriptor,
    ]
}

/// Options every subcommand that talks to Redis shares.
struct RedisOptions: ParsableArguments {
    @Option(name: .customLong(SharedSettings.redisURL.flag), help: ArgumentHelp(SharedSettings.redisURL.help))
    var redisURL: String?
    @Option(
        name: .customLong(SharedSettings.historyLength.flag), help: ArgumentHelp(SharedSettings.historyLength.help))
    var historyLength: Int?

    /// These flags in front of the environment (see ``SettingsReader``).
    var settings: SettingsReader {
        var settings = SettingsReader()
        settings.flag(SharedSettings.redisURL, redisURL)
        settings.flag(SharedSettings.historyLength, historyLength)
        return settings
    }

    /// The Redis of `--redis-url`: one server, a Sentinel group's master, or a Redis Cluster.
    func connect() throws -> RedisAccess {
        let url = try settings.reader().value(of: SharedSettings.redisURL)
        return RedisAccess(topology: try RedisTopology(url: url))
    }

    func maxLength() throws -> Int {
        try settings.reader().value(of: SharedSettings.historyLength)
    }

    /// Publishes reliably and prints the event id; with `key`, a repeat within `windowSeconds` prints the first
    /// id and publishes nothing.
    func publish(
        _ topic: Topic, event: String?, data: String, key: IdempotencyKey? = nil,
        windowSeconds: Int = SharedSettings.idempotencyWindowSeconds.defaultValue
    ) async throws {
        let length = try maxLength()
        let redis = try connect()
        do {
            let history = redis.history
            if let key {
                let receipt = try await history.publish(
                    topic, event: event, data: data, maxLength: length, idempotencyKey: key,
                    windowSeconds: windowSeconds)
                print(receipt.id)
            } else {
                print(try await history.publish(topic, event: event, data: data, maxLength: length))
            }
            await redis.close()
        } catch {
            await redis.close()
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
    @Option(
        name: .customLong(SharedSettings.idempotencyWindowSeconds.flag),
        help: ArgumentHelp(SharedSettings.idempotencyWindowSeconds.help))
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
        var settings = redis.settings
        settings.flag(SharedSettings.idempotencyWindowSeconds, idempotencyWindow)
        let window = try settings.reader().value(of: SharedSettings.idempotencyWindowSeconds)
        guard window >= 1 else {
            throw ValidationError("idempotency window \(window) is invalid: expected a positive number of seconds")
        }
        try await redis.publish(try Topic(validating: topic), event: event, data: data, key: key, windowSeconds: window)
    }
}
