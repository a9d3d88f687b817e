// swift-tools-version:6.2
import PackageDescription

// Every Swift target builds in Swift 6 language mode with warnings as errors.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
]

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
]
let log: Target.Dependency = .product(name: "Logging", package: "swift-log")

let package = Package(
    name: "presignd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "presignd", targets: ["presignd"]),
        .executable(name: "presignctl", targets: ["presignctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries from Debian, imported only by their Swift wrappers.
        .systemLibrary(
            name: "CHiredis", path: "Sources/CHiredis",
            pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL",
            pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // Leaves: they never import each other.
        .target(name: "SigV4", dependencies: ["COpenSSL"], swiftSettings: strict),
        .target(name: "Wire", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        .target(name: "Redis", dependencies: ["CHiredis", log] + nio, swiftSettings: strict),

        // Token state on Redis.
        .target(
            name: "Tokens", dependencies: ["Redis", "SigV4", log, .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),

        // The commands' meaning, composed from the leaves.
        .target(name: "Broker", dependencies: ["SigV4", "Tokens", "Wire", log, .product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),

        // Listeners.
        .target(
            name: "Server",
            dependencies: ["Broker", "Wire", log, .product(name: "NIOHTTP1", package: "swift-nio")] + nio,
            swiftSettings: strict),

        // Executables only configure and start.
        .executableTarget(
            name: "presignd",
            dependencies: [
                "SigV4", "Redis", "Tokens", "Broker", "Server", "Subprocesses", "Wire", log, "Yams",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ] + nio,
            swiftSettings: strict),
        // presignctl's commands, requests and output, in a library so tests can reach them.
        .target(
            name: "AdminClient",
            dependencies: ["Redis", "Wire", log, .product(name: "ArgumentParser", package: "swift-argument-parser")] + nio,
            swiftSettings: strict),
        .executableTarget(name: "presignctl", dependencies: ["AdminClient", "Wire"], swiftSettings: strict),
        // libFuzzer harnesses for the request decoder and the URL verifier (scripts/fuzz).
        .target(name: "CLibFuzzer"),
        .executableTarget(
            name: "presignd-fuzz",
            dependencies: ["Wire", "SigV4", "CLibFuzzer", .product(name: "NIOCore", package: "swift-nio")],
            path: "Sources/PresigndFuzz", swiftSettings: strict),
        .executableTarget(
            name: "PresignBench", dependencies: ["SigV4", "Redis", "Tokens", log] + nio,
            path: "Sources/PresignBench", swiftSettings: strict),

        // Test support: starts a private redis-server on a free port.
        .target(name: "TestSupport", dependencies: ["Subprocesses", log], swiftSettings: strict),
        // Child processes (redis-server for dev mode and tests) without Foundation's Process.
        .target(name: "Subprocesses", swiftSettings: strict),

        .testTarget(
            name: "SigV4Tests", dependencies: ["SigV4", "COpenSSL"],
            resources: [.copy("Resources/vectors.json")], swiftSettings: strict),
        .testTarget(
            name: "WireTests",
            dependencies: [
                "Wire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "RedisTests",
            dependencies: ["Redis", "TestSupport", log, .product(name: "NIOEmbedded", package: "swift-nio")] + nio,
            swiftSettings: strict),
        .testTarget(
            name: "TokensTests", dependencies: ["Tokens", "Redis", "TestSupport", "Subprocesses", log] + nio,
            resources: [.copy("Resources/presignd_v4.lua")], swiftSettings: strict),
        .testTarget(
            name: "ServerTests",
            dependencies: ["Server", "Broker", .product(name: "NIOHTTP1", package: "swift-nio")] + nio,
            swiftSettings: strict),
        .testTarget(
            name: "AdminClientTests",
            dependencies: ["AdminClient", "Redis", "TestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),
        .testTarget(name: "BrokerTests", dependencies: ["Broker", "Tokens", "Redis", "SigV4", "Wire", "TestSupport", log] + nio, swiftSettings: strict),
    ]
)
