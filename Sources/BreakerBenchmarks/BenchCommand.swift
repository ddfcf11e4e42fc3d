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
            Build first with `swift build -c release`, then run .build/release/breakerctl:
              breakerctl bench hot-path --keys 1000 --calls 10000000 [--handles]
              breakerctl bench call --keys 1000
              breakerctl bench log --calls 1000000
              breakerctl bench rebuild --records 10000000 --keys 10000
              breakerctl bench report --records 10000000
              breakerctl bench whatif --records 10000000
              breakerctl bench slo --records 10000000
              breakerctl bench serve --connections 16 --duration 10 [--fleet URL]
              breakerctl bench fleet --fleet postgres://USER@127.0.0.1/bench
              breakerctl bench mcp-proxy --calls 5000
              breakerctl bench keys --keys 1000000
              breakerctl bench scrape --keys 500000 --open 50000

            Exit codes: 0 done; 1 failure; 64 bad arguments.
            """,
        subcommands: [
            HotPathBench.self, CallBench.self, LogBench.self, RebuildBench.self, ReportBench.self, ServeBench.self, MCPProxyBench.self,
            KeysBench.self,
            MetricsBench.self, ScrapeBench.self, FleetBench.self, WhatIfBench.self, ObjectivesBench.self,
            MCPEchoServer.self,
        ])

    public init() {}
}
