import ArgumentParser
import Logging
import Publisher
import ServerSupport
import ServiceLifecycle
import UnixSignals

/// `sse-publisher`: the live board demo and the publish API. Every flag also reads an environment variable (named
/// in its help); the flag wins, then the variable, then the default (``PublisherConfiguration/init(reader:)``).
@main
struct SSEPublisherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse-publisher", abstract: "Serve the live board demo and the publish API.")

    @Option(name: .customLong(SharedSettings.host.flag), help: ArgumentHelp(SharedSettings.host.help))
    var host: String?
    @Option(name: .customLong(PublisherSettings.port.flag), help: ArgumentHelp(PublisherSettings.port.help))
    var port: Int?
    @Option(name: .customLong(SharedSettings.redisURL.flag), help: ArgumentHelp(SharedSettings.redisURL.help))
    var redisURL: String?
    @Option(
        name: .customLong(PublisherSettings.publishToken.flag), help: ArgumentHelp(PublisherSettings.publishToken.help))
    var publishToken: String?
    @Option(
        name: .customLong(PublisherSettings.publicSSEURL.flag), help: ArgumentHelp(PublisherSettings.publicSSEURL.help))
    var sseURL: String?
    @Option(
        name: .customLong(SharedSettings.heartbeatSeconds.flag),
        help: ArgumentHelp(SharedSettings.heartbeatSeconds.help))
    var heartbeat: Double?
    @Option(name: .customLong(SharedSettings.historyLength.flag), help: ArgumentHelp(SharedSettings.historyLength.help))
    var historyLength: Int?
    @Option(
        name: .customLong(PublisherSettings.boardLength.flag), help: ArgumentHelp(PublisherSettings.boardLength.help))
    var boardLength: Int?
    @Option(
        name: .customLong(PublisherSettings.redisTimeoutSeconds.flag),
        help: ArgumentHelp(PublisherSettings.redisTimeoutSeconds.help))
    var redisTimeout: Double?
    @Option(
        name: .customLong(PublisherSettings.publicOrigins.flag),
        help: ArgumentHelp(PublisherSettings.publicOrigins.help))
    var publicOrigins: [String] = []
    @Option(
        name: .customLong(SharedSettings.idempotencyWindowSeconds.flag),
        help: ArgumentHelp(SharedSettings.idempotencyWindowSeconds.help))
    var idempotencyWindow: Int?
    @Option(
        name: .customLong(PublisherSettings.requestDeadlineSeconds.flag),
        help: ArgumentHelp(PublisherSettings.requestDeadlineSeconds.help))
    var requestDeadline: Double?
    @Option(name: .customLong(SharedSettings.logLevel.flag), help: ArgumentHelp(SharedSettings.logLevel.help))
    var logLevel: String?

    /// The parsed flags in front of the environment (see ``SettingsReader``).
    var settings: SettingsReader {
        var settings = SettingsReader()
        settings.flag(SharedSettings.host, host)
        settings.flag(PublisherSettings.port, port)
        settings.flag(SharedSettings.redisURL, redisURL)
        settings.flag(PublisherSettings.publishToken, publishToken)
        settings.flag(PublisherSettings.publicSSEURL, sseURL)
        settings.flag(SharedSettings.heartbeatSeconds, heartbeat)
        settings.flag(SharedSettings.historyLength, historyLength)
        settings.flag(PublisherSettings.boardLength, boardLength)
        settings.flag(PublisherSettings.redisTimeoutSeconds, redisTimeout)
        settings.flag(PublisherSettings.publicOrigins, publicOrigins)
        settings.flag(SharedSettings.idempotencyWindowSeconds, idempotencyWindow)
        settings.flag(PublisherSettings.requestDeadlineSeconds, requestDeadline)
        settings.flag(SharedSettings.logLevel, logLevel)
        return settings
    }

    func run() async throws {
        let configuration = try PublisherConfiguration(reader: settings.reader())
        ServerLogging.bootstrap(level: configuration.logLevel)
        let logger = Logger(label: "sse-publisher")
        let services = ServiceGroup(
            configuration: .init(
                services: [PublisherService(configuration: configuration, logger: logger)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
    }
}
