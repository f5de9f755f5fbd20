// swift-tools-version:6.2
// 6.2: what the dependencies' own manifests declare (Hummingbird 2.28, swift-service-lifecycle 2.13,
// swift-configuration), so no older toolchain builds this package anyway.
import PackageDescription

/// Language modes of the coming Swift versions that the model server packages (SwiftNIO, Hummingbird,
/// swift-configuration) already build with, applied to every target below.
let swiftSettings: [SwiftSetting] = [
    // SE-0335: existential types are spelled `any P`, so their cost is visible where they are used.
    .enableUpcomingFeature("ExistentialAny"),
    // SE-0444: a file sees the members of a module only if it imports that module itself.
    .enableUpcomingFeature("MemberImportVisibility"),
    // SE-0461: a nonisolated async function runs on its caller's executor unless marked `@concurrent`.
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
    // SE-0470: a conformance of a global-actor-isolated type is isolated to that actor.
    .enableUpcomingFeature("InferIsolatedConformances"),
    // Not yet: InternalImportsByDefault (SE-0409), which needs `public import` wherever a library's public API names
    // another module's type (most files of RedisClient, SSEProtocol, Gateway, Publisher and the test support).
]

let package = Package(
    name: "sse-gateway",
    // No `platforms`: the package is Linux only. Its code imports Glibc (processes, signals, descriptor limits) and
    // is built and tested on Debian alone; an Apple minimum would claim a build nobody makes.
    products: [
        .library(name: "RedisClient", targets: ["RedisClient"]),
        .library(name: "SSEProtocol", targets: ["SSEProtocol"]),
        .library(name: "SSEHistory", targets: ["SSEHistory"]),
        .library(name: "SSEAuth", targets: ["SSEAuth"]),
        .library(name: "Gateway", targets: ["Gateway"]),
        .executable(name: "sse-gateway", targets: ["SSEGatewayServer"]),
        .executable(name: "ssectl", targets: ["SSECtl"]),
        .executable(name: "redis-bench", targets: ["RedisBench"]),
        .executable(name: "sse-publisher", targets: ["SSEPublisherServer"]),
        .executable(name: "sse-load", targets: ["SSELoad"]),
        .executable(name: "presence-bench", targets: ["PresenceBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        // jwt-kit's own cryptography (4.x, as jwt-kit 5.8 requires): SSEAuth parses key files with it before handing the keys to jwt-kit (and the test support signs hand-made, broken tokens with it).
        .package(url: "https://github.com/apple/swift-crypto.git", "4.1.0"..<"5.0.0"),
    ],
    targets: [
        // hiredis 0.14 (Debian's libhiredis-dev): only its RESP encoder and reply reader are used.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // The one percent-decoder (form bodies, URL queries, Redis URL credentials); no dependencies.
        .target(name: "PercentDecoding"),
        .testTarget(name: "PercentDecodingTests", dependencies: ["PercentDecoding"]),
        .target(
            name: "RedisClient",
            dependencies: [
                "CHiredis",
                "PercentDecoding",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Starts and stops a real redis-server on a free loopback port (tests, benchmarks, scripts).
        .target(
            name: "LocalRedis",
            dependencies: ["RedisClient"]
        ),
        // The SSE event model, its encoder/decoder, topic names and the pub/sub message contract (envelopes, the
        // control channel): pure values over bytes, no Redis connection.
        .target(
            name: "SSEProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // The Redis side of the contract: reliable publish and replay through the `sse` function library.
        .target(
            name: "SSEHistory",
            dependencies: [
                "SSEProtocol",
                "RedisClient",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "RedisBench",
            dependencies: [
                "RedisClient",
                "LocalRedis",
                // The reliable publish of `--only topology` (`History.publishCommand`, the `sse` library, topics).
                "SSEHistory",
                "SSEProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // redis-bench's logic without I/O (CPU time from /proc stat lines, topics spread over shards).
        .testTarget(name: "RedisBenchTests", dependencies: ["RedisBench", "RedisClient", "SSEProtocol"]),
        .testTarget(
            name: "RedisClientTests",
            dependencies: [
                "RedisClient",
                "LocalRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SSEProtocolTests",
            dependencies: [
                "SSEProtocol",
                // The benchmark suite's records and document (`@testable import SSELoad`, no benchmark run).
                "SSELoad",
                // Only for `SeededGenerator` (property tests replayable from their seed).
                "LocalRedis",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SSEHistoryTests",
            dependencies: [
                "SSEHistory",
                "SSEProtocol",
                "RedisClient",
                "LocalRedis",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Access tokens (JWTs): keys and their algorithms from configuration, verification, grants of topics,
        // minting; shared by the gateway, the publisher and ssectl. No I/O but reading key files. Every signature
        // is made and checked by jwt-kit: the `JWTAlgorithm` of each key is taken from a `JWTKeyCollection` once, at
        // load (the actor's only async step), and then called synchronously (verification runs on an event loop).
        // swift-crypto parses the PEM files, so their errors keep this package's messages.
        .target(
            name: "SSEAuth",
            dependencies: [
                "SSEProtocol",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "SSEAuthTests",
            dependencies: [
                "SSEAuth",
                "SSEProtocol",
                // `ssectl token` checked through its command type.
                "SSECtl",
                // The reference implementation: tokens it signs verify here, and tokens minted here verify there.
                .product(name: "JWTKit", package: "jwt-kit"),
                // Key pairs generated in the tests.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // The gateway node: HTTP server, per-loop fan-out hubs, replay, drain, metrics.
        .target(
            name: "Gateway",
            dependencies: [
                "RedisClient",
                "SSEAuth",
                "SSEProtocol",
                "PercentDecoding",
                "SSEHistory",
                "ServerSupport",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Settings (key, flag, variable, default) read through swift-configuration, shared by the configurations
        // and the executables; logging bootstrap and process limits of the executables.
        .target(
            name: "ServerSupport",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                // For `HTTPFailure`, the services' one HTTP error type (the publisher's Hummingbird speaks it too).
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // Client addresses through trusted proxies, token buckets and the bounded per-address table, on an
        // injected clock.
        .testTarget(name: "ServerSupportTests", dependencies: ["ServerSupport"]),
        .executableTarget(
            name: "SSEGatewayServer",
            dependencies: [
                "Gateway",
                "ServerSupport",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The raw client connection of the test client, `ssectl tail` and sse-load (answers read with
        // SSEResponseReader).
        .target(
            name: "SSEClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "SSECtl",
            dependencies: [
                "RedisClient",
                "SSEProtocol",
                "SSEAuth",
                "SSEClient",
                "SSEHistory",
                "ServerSupport",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // Test helpers shared by the integration suites: real server processes, a raw SSE client, publishing.
        .target(
            name: "SSETestSupport",
            dependencies: [
                "Gateway",
                "LocalRedis",
                "RedisClient",
                "SSEProtocol",
                "SSEClient",
                "SSEHistory",
                "SSEAuth",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway",
                "SSEProtocol",
                "SSEHistory",
                "RedisClient",
                "LocalRedis",
                "SSETestSupport",
                "SSEGatewayServer",
                "SSECtl",
                "SSEAuth",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                "ServerSupport",
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        // The publisher service: the demo MVC board, form handling, the model in Redis, the publish API.
        .target(
            name: "Publisher",
            dependencies: [
                "RedisClient",
                "SSEAuth",
                "SSEProtocol",
                "PercentDecoding",
                "SSEHistory",
                "ServerSupport",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources")]
        ),
        .executableTarget(
            name: "SSEPublisherServer",
            dependencies: [
                "Publisher",
                "ServerSupport",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "PublisherTests",
            dependencies: [
                "Publisher",
                "SSEAuth",
                "SSEProtocol",
                "PercentDecoding",
                "RedisClient",
                "LocalRedis",
                "SSETestSupport",
                "SSEPublisherServer",
                "SSEGatewayServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // The publisher's application driven in process, for checks of one HTTP answer.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                "ServerSupport",
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        // The SSE load generator (benchmarks): many connections, gap/duplicate checks, latency percentiles; and the
        // benchmark suite that starts the systems and the load processes (`sse-load suite`).
        // What the node registry's presence costs at N streams (README "Nodes and presence"); a benchmark program.
        .executableTarget(
            name: "PresenceBench",
            dependencies: [
                "Gateway",
                "SSEProtocol",
                "RedisClient",
                "LocalRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "SSELoad",
            dependencies: [
                "SSEProtocol",
                "SSEClient",
                "SSEHistory",
                "RedisClient",
                "LocalRedis",
                "ServerSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The load generator's client: its streams read through SSEResponseReader's lean path, and SSEStreamConnection
        // bound to chosen source addresses (a real server on loopback).
        .testTarget(
            name: "SSELoadTests",
            dependencies: [
                "SSELoad",
                "SSEClient",
                "SSEProtocol",
                // ClusterSlotMap, for the topics `sse-load topology` spreads over shards.
                "RedisClient",
                "LocalRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Settings resolution (flags, environment, defaults, secrets) and the README's table against the code.
        .testTarget(
            name: "SettingsTests",
            dependencies: [
                "ServerSupport",
                "Gateway",
                "Publisher",
                "SSECtl",
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        // End-to-end: real redis-server, gateway nodes, publisher and nginx (and a headless browser).
        .testTarget(
            name: "ClusterTests",
            dependencies: [
                "Gateway",
                "SSEProtocol",
                "SSEHistory",
                "RedisClient",
                "LocalRedis",
                "SSETestSupport",
                "SSEGatewayServer",
                "SSEPublisherServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)

// Every Swift target gets the shared settings. No library target has `unsafeFlags` (scripts/check-packaging fails
// on one): SwiftPM refuses them in a versioned dependency whose manifest is older than tools 6.2, and a flag would
// change how every dependent compiles this code. The loop-confined classes mark their hot stored properties
// `@exclusivity(unchecked)` instead of turning the checks off module-wide.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
