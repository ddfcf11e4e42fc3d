public import ArgumentParser
import BreakerCore
import BreakerRuntime
import Foundation

/// `breakerctl bench`: the benchmarks, each printing one JSON object.
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks; each prints one JSON object. Build with -c release.",
        discussion: """
            Examples:
              swift build -c release
              .build/release/breakerctl bench hot-path --keys 1000 --calls 10000000 [--handles | --breakdown]
              .build/release/breakerctl bench log --calls 1000000
              .build/release/breakerctl bench rebuild --records 10000000 --keys 10000
              .build/release/breakerctl bench report --records 10000000
              .build/release/breakerctl bench whatif --records 10000000
              .build/release/breakerctl bench slo --records 10000000
              .build/release/breakerctl bench serve --connections 16 --duration 10 [--fleet URL]
              .build/release/breakerctl bench fleet --fleet postgres://USER@127.0.0.1/breaker_bench
              .build/release/breakerctl bench mcp-proxy --calls 5000
              .build/release/breakerctl bench keys --keys 1000000
              .build/release/breakerctl bench scrape --keys 500000 --open 50000

            Exit codes: 0 done; 1 failure; 64 bad arguments.
            """,
        subcommands: [
            HotPathBench.self, LogBench.self, RebuildBench.self, ReportBench.self, ServeBench.self, MCPProxyBench.self, KeysBench.self,
            MetricsBench.self, ScrapeBench.self, FleetBench.self, WhatIfBench.self, ObjectivesBench.self,
            MCPEchoServer.self,
        ])

    public init() {}
}
