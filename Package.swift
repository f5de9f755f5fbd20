// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "sse-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RedisClient", targets: ["RedisClient"]),
        .executable(name: "redis-bench", targets: ["RedisBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // hiredis 0.14 (Debian's libhiredis-dev): only its RESP encoder and reply reader are used.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "RedisClient",
            dependencies: [
                "CHiredis",
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
        .executableTarget(
            name: "RedisBench",
            dependencies: [
                "RedisClient",
                "LocalRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
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
    ]
)
