import Configuration
import Gateway
import Logging
import Publisher
import ServerSupport
import Testing

/// The executables' flags read straight from their settings (``SettingsReader/init(arguments:settings:)``): both
/// flag forms, repeatable lists, the flag in front of its variable, and a one-line error naming the flag for each
/// kind of mistake.
@Suite struct SettingsFlagsTests {
    static let settings = GatewayConfiguration.settings

    func gateway(_ arguments: [String], environment: [String: String] = [:]) throws -> GatewayConfiguration {
        try GatewayConfiguration(
            reader: SettingsReader(arguments: arguments, settings: Self.settings).reader(environment: environment))
    }

    func error(_ arguments: [String]) -> String? {
        do {
            _ = try SettingsReader(arguments: arguments, settings: Self.settings)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func bothFlagFormsAreReadAndAFlagWinsOverItsVariable() throws {
        let read = try gateway(
            ["--port", "9001", "--node-id=edge-1", "--heartbeat", "2.5"],
            environment: ["SSE_PORT": "9002", "SSE_NODE_ID": "from-env", "SSE_MAX_TOPICS": "7"])
        #expect(read.port == 9001)
        #expect(read.nodeID == "edge-1")
        #expect(read.heartbeatInterval == .milliseconds(2500))
        #expect(read.maxTopicsPerConnection == 7)
    }

    @Test func aFlagGivenAgainReplacesItsEarlierValue() throws {
        // As swift-argument-parser did: a script appends an override to a fixed set of flags.
        let read = try gateway(["--port", "9001", "--log-level", "info", "--port", "9002", "--log-level=debug"])
        #expect(read.port == 9002)
        #expect(read.logLevel == .debug)
    }

    @Test func aListFlagMayRepeatAndEachValueMayHoldSeveral() throws {
        let read = try gateway([
            "--allowed-origins", "https://a.example", "--allowed-origins=https://b.example,https://c.example",
        ])
        #expect(read.allowedOrigins == ["https://a.example", "https://b.example", "https://c.example"])
    }

    @Test func eachMistakeIsOneLineNamingTheFlag() {
        #expect(error(["--port", "abc"]) == #"--port "abc" is invalid: expected a port number"#)
        #expect(error(["--drain-seconds=soon"]) == #"--drain-seconds "soon" is invalid: expected seconds"#)
        #expect(error(["--bogus", "1"]) == "unknown flag --bogus (see --help)")
        #expect(error(["--port"]) == "flag --port needs a value")
        #expect(error(["8080"]) == #"unexpected argument "8080": settings are --flag VALUE (see --help)"#)
        #expect(error([]) == nil)
    }

    @Test func theHelpListsEverySettingWithItsVariableAndDefault() {
        let help = SettingsReader.help(for: Self.settings)
        #expect(help.split(separator: "\n").count == Self.settings.count)
        #expect(help.contains("--port <value>"))
        #expect(help.contains("[SSE_PORT, default 8080]."))
        let publisher = SettingsReader.help(for: PublisherConfiguration.settings)
        #expect(publisher.contains("--publish-token <value>"))
    }
}
