import ArgumentParser
import Gateway
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import ServerSupport
import ServiceLifecycle
import UnixSignals

/// `sse-gateway`: one gateway node. Every flag also reads an environment variable (named in its help); the flag
/// wins, then the variable, then the default (``GatewayConfiguration/init(reader:)``).
@main
struct SSEGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse-gateway",
        abstract: "Serve Server-Sent Events to browsers, relaying what is published through Redis.",
        discussion: "Settings (a flag wins over its variable, which wins over the default):\n"
            + SettingsReader.help(for: GatewayConfiguration.settings))

    /// Every flag is a setting (``GatewayConfiguration/settings``), read by ``SettingsReader`` rather than declared here
    /// a second time; `--help` lists them from the same list.
    @Argument(parsing: .allUnrecognized, help: .hidden) var flags: [String] = []

    func validate() throws {
        do {
            _ = try SettingsReader(arguments: flags, settings: GatewayConfiguration.settings)
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        let configuration = try GatewayConfiguration(
            reader: SettingsReader(arguments: flags, settings: GatewayConfiguration.settings).reader())
        ServerLogging.bootstrap(level: configuration.logLevel)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "sse-gateway")
        let files = ProcessLimits.raiseFileLimit()
        logger.info("starting", metadata: ["sse.node": "\(configuration.nodeID)", "sse.file_limit": "\(files)"])

        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        let gateway = try await Gateway(
            configuration: configuration, group: group, logger: logger,
            renderPrometheus: {
                var bytes: [UInt8] = []
                registry.emit(into: &bytes)
                return String(decoding: bytes, as: UTF8.self)
            })
        let services = ServiceGroup(
            configuration: .init(services: [gateway], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
        try await group.shutdownGracefully()
    }
}
