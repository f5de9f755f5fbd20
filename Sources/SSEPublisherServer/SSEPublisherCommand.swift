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
        commandName: "sse-publisher", abstract: "Serve the live board demo and the publish API.",
        discussion: "Settings (a flag wins over its variable, which wins over the default):\n"
            + SettingsReader.help(for: PublisherConfiguration.settings))

    /// Every flag is a setting (``PublisherConfiguration/settings``), read by ``SettingsReader`` rather than declared here
    /// a second time; `--help` lists them from the same list.
    @Argument(parsing: .allUnrecognized, help: .hidden) var flags: [String] = []

    func validate() throws {
        do {
            _ = try SettingsReader(arguments: flags, settings: PublisherConfiguration.settings)
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        let configuration = try PublisherConfiguration(
            reader: SettingsReader(arguments: flags, settings: PublisherConfiguration.settings).reader())
        ServerLogging.bootstrap(level: configuration.logLevel)
        let logger = Logger(label: "sse-publisher")
        let services = ServiceGroup(
            configuration: .init(
                services: [PublisherService(configuration: configuration, logger: logger)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
    }
}
