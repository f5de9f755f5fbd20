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
        abstract: "Serve Server-Sent Events to browsers, relaying what is published through Redis.")

    @Option(name: .customLong(SharedSettings.host.flag), help: ArgumentHelp(SharedSettings.host.help))
    var host: String?
    @Option(name: .customLong(GatewaySettings.port.flag), help: ArgumentHelp(GatewaySettings.port.help))
    var port: Int?
    @Option(name: .customLong(SharedSettings.redisURL.flag), help: ArgumentHelp(SharedSettings.redisURL.help))
    var redisURL: String?
    @Option(name: .customLong(GatewaySettings.nodeID.flag), help: ArgumentHelp(GatewaySettings.nodeID.help))
    var nodeID: String?
    @Option(
        name: .customLong(SharedSettings.heartbeatSeconds.flag),
        help: ArgumentHelp(SharedSettings.heartbeatSeconds.help))
    var heartbeat: Double?
    @Option(name: .customLong(SharedSettings.historyLength.flag), help: ArgumentHelp(SharedSettings.historyLength.help))
    var historyLength: Int?
    @Option(
        name: .customLong(GatewaySettings.retryMilliseconds.flag),
        help: ArgumentHelp(GatewaySettings.retryMilliseconds.help))
    var retryMs: Int?
    @Option(
        name: .customLong(GatewaySettings.maxUnsentBytes.flag), help: ArgumentHelp(GatewaySettings.maxUnsentBytes.help))
    var maxUnsentBytes: Int?
    @Option(
        name: .customLong(GatewaySettings.maxConnections.flag), help: ArgumentHelp(GatewaySettings.maxConnections.help))
    var maxConnections: Int?
    @Option(name: .customLong(GatewaySettings.maxTopics.flag), help: ArgumentHelp(GatewaySettings.maxTopics.help))
    var maxTopics: Int?
    @Option(
        name: .customLong(GatewaySettings.allowedOrigins.flag), help: ArgumentHelp(GatewaySettings.allowedOrigins.help))
    var allowedOrigins: [String] = []
    @Option(
        name: .customLong(GatewaySettings.allowedHeaders.flag), help: ArgumentHelp(GatewaySettings.allowedHeaders.help))
    var allowedHeaders: [String] = []
    @Option(name: .customLong(GatewaySettings.drainSeconds.flag), help: ArgumentHelp(GatewaySettings.drainSeconds.help))
    var drainSeconds: Double?
    @Option(
        name: .customLong(GatewaySettings.requestTimeoutSeconds.flag),
        help: ArgumentHelp(GatewaySettings.requestTimeoutSeconds.help))
    var requestTimeout: Double?
    @Option(
        name: .customLong(GatewaySettings.maxHeaderBytes.flag), help: ArgumentHelp(GatewaySettings.maxHeaderBytes.help))
    var maxHeaderBytes: Int?
    @Option(
        name: .customLong(GatewaySettings.bodyTimeoutSeconds.flag),
        help: ArgumentHelp(GatewaySettings.bodyTimeoutSeconds.help))
    var bodyTimeout: Double?
    @Option(name: .customLong(GatewaySettings.maxBodyBytes.flag), help: ArgumentHelp(GatewaySettings.maxBodyBytes.help))
    var maxBodyBytes: Int?
    @Option(
        name: .customLong(GatewaySettings.maxLoopBacklog.flag), help: ArgumentHelp(GatewaySettings.maxLoopBacklog.help))
    var maxLoopBacklog: Int?
    @Option(name: .customLong(GatewaySettings.threads.flag), help: ArgumentHelp(GatewaySettings.threads.help))
    var threads: Int?
    @Option(name: .customLong(SharedSettings.logLevel.flag), help: ArgumentHelp(SharedSettings.logLevel.help))
    var logLevel: String?

    /// The parsed flags in front of the environment (see ``SettingsReader``).
    var settings: SettingsReader {
        var settings = SettingsReader()
        settings.flag(SharedSettings.host, host)
        settings.flag(GatewaySettings.port, port)
        settings.flag(SharedSettings.redisURL, redisURL)
        settings.flag(GatewaySettings.nodeID, nodeID)
        settings.flag(SharedSettings.heartbeatSeconds, heartbeat)
        settings.flag(SharedSettings.historyLength, historyLength)
        settings.flag(GatewaySettings.retryMilliseconds, retryMs)
        settings.flag(GatewaySettings.maxUnsentBytes, maxUnsentBytes)
        settings.flag(GatewaySettings.maxConnections, maxConnections)
        settings.flag(GatewaySettings.maxTopics, maxTopics)
        settings.flag(GatewaySettings.allowedOrigins, allowedOrigins)
        settings.flag(GatewaySettings.allowedHeaders, allowedHeaders)
        settings.flag(GatewaySettings.drainSeconds, drainSeconds)
        settings.flag(GatewaySettings.requestTimeoutSeconds, requestTimeout)
        settings.flag(GatewaySettings.maxHeaderBytes, maxHeaderBytes)
        settings.flag(GatewaySettings.bodyTimeoutSeconds, bodyTimeout)
        settings.flag(GatewaySettings.maxBodyBytes, maxBodyBytes)
        settings.flag(GatewaySettings.maxLoopBacklog, maxLoopBacklog)
        settings.flag(GatewaySettings.threads, threads)
        settings.flag(SharedSettings.logLevel, logLevel)
        return settings
    }

    func run() async throws {
        let configuration = try GatewayConfiguration(reader: settings.reader())
        ServerLogging.bootstrap(level: configuration.logLevel)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "sse-gateway")
        let files = ProcessLimits.raiseFileLimit()
        logger.info("starting", metadata: ["sse.node": "\(configuration.nodeID)", "sse.file_limit": "\(files)"])

        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        let gateway = try Gateway(
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
