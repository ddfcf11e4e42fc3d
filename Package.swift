// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "TenantBreaker",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BreakerCore", targets: ["BreakerCore"]),
        .library(name: "BreakerRuntime", targets: ["BreakerRuntime"]),
        .library(name: "BreakerStore", targets: ["BreakerStore"]),
        .library(name: "BreakerReports", targets: ["BreakerReports"]),
        .library(name: "BreakerOwner", targets: ["BreakerOwner"]),
        .library(name: "BreakerCLI", targets: ["BreakerCLI"]),
        .executable(name: "breakerctl", targets: ["breakerctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .target(name: "BreakerCore"),
        .target(name: "CTimestampCounter"),
        .target(
            name: "BreakerRuntime",
            dependencies: [
                "BreakerCore", "CTimestampCounter",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "BreakerStore",
            dependencies: [
                "BreakerCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "BreakerReports",
            dependencies: [
                "BreakerCore", "BreakerStore", "BreakerRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "BreakerOwner",
            dependencies: [
                "BreakerCore", "BreakerRuntime", "BreakerStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "BreakerServe",
            dependencies: [
                "BreakerCore", "BreakerRuntime", "BreakerStore", "BreakerReports", "BreakerOwner", "BreakerFleet",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("Resources/openapi.json"), .embedInCode("Resources/dashboard.html")]
        ),
        .target(
            name: "BreakerFleet",
            dependencies: [
                "BreakerCore", "BreakerRuntime", "BreakerStore", "BreakerReports", "BreakerOwner",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "BreakerMCP",
            dependencies: [
                "BreakerCore", "BreakerRuntime", "BreakerOwner", "BreakerReports",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "BreakerTestSupport",
            dependencies: ["BreakerCore", "BreakerRuntime", "BreakerOwner", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "BreakerCLI",
            dependencies: [
                "BreakerCore", "BreakerRuntime", "BreakerStore", "BreakerReports", "BreakerOwner", "BreakerServe", "BreakerMCP",
                "BreakerFleet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "BreakerBenchmarks",
            dependencies: [
                "BreakerCore", "BreakerRuntime", "BreakerStore", "BreakerReports", "BreakerOwner", "BreakerCLI", "BreakerServe",
                "BreakerFleet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "breakerctl",
            dependencies: ["BreakerCLI", "BreakerBenchmarks", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "breaker-embedding-example",
            dependencies: [
                "BreakerCore", "BreakerOwner", "BreakerRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Tests/EmbeddingExample"
        ),
        .testTarget(name: "BreakerCoreTests", dependencies: ["BreakerCore", "BreakerTestSupport"]),
        .testTarget(
            name: "BreakerRuntimeTests",
            dependencies: [
                "BreakerCore", "BreakerRuntime", "BreakerTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(name: "BreakerReportsTests", dependencies: ["BreakerCore", "BreakerReports", "BreakerStore", "BreakerTestSupport"]),
        .testTarget(
            name: "BreakerStoreTests",
            dependencies: [
                "BreakerCore", "BreakerStore", "BreakerRuntime", "BreakerOwner", "BreakerReports", "BreakerTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "BreakerServeTests",
            dependencies: [
                "BreakerCore", "BreakerRuntime", "BreakerServe", "BreakerTestSupport", "breakerctl", "breaker-embedding-example",
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .testTarget(name: "BreakerMCPTests", dependencies: ["BreakerTestSupport", "breakerctl"]),
        .testTarget(name: "BreakerFleetTests", dependencies: ["BreakerCore", "BreakerFleet", "BreakerTestSupport", "breakerctl"]),
        .testTarget(
            name: "BreakerOwnerTests",
            dependencies: [
                "BreakerCore", "BreakerRuntime", "BreakerStore", "BreakerOwner", "BreakerTestSupport", "breakerctl",
                "breaker-embedding-example",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "BreakerCLITests",
            dependencies: [
                "BreakerCLI", "BreakerCore", "BreakerStore", "BreakerReports", "BreakerOwner", "BreakerRuntime", "BreakerServe",
                "BreakerTestSupport", "breakerctl", "breaker-embedding-example",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .plugin && target.name != "CTimestampCounter" {
    var settings = target.swiftSettings ?? []
    settings.append(contentsOf: [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("InternalImportsByDefault"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .treatAllWarnings(as: .error),
    ])
    target.swiftSettings = settings
}
