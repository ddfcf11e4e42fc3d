import ArgumentParser
import BreakerBenchmarks
import BreakerCLI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `breakerctl`: the commands of BreakerCLI and the benchmarks.
struct Breakerctl: AsyncParsableCommand {
    static let configuration = BreakerCommand.configuration(adding: [BenchCommand.self])
}

@main
enum Main {
    static func main() async {
        limitMallocArenas()
        exit(await CommandRunner.run(Breakerctl.self, arguments: Array(CommandLine.arguments.dropFirst())))
    }

    /// glibc gives every thread that meets a busy allocator an arena of its own, up to eight per
    /// core, and each keeps its own free space: a long-running `serve` or `load` holds tens of
    /// megabytes more than it uses, and keys' memory scatters (`bench keys`: 237–259 bytes per
    /// key with the default, 226–227 with two arenas, and no change in `bench serve`'s rate). Two
    /// arenas, unless the operator set `MALLOC_ARENA_MAX`.
    static func limitMallocArenas() {
        #if canImport(Glibc)
            guard getenv("MALLOC_ARENA_MAX") == nil, let f = dlsym(nil, "mallopt") else { return }
            let mallopt = unsafeBitCast(f, to: (@convention(c) (Int32, Int32) -> Int32).self)
            _ = mallopt(-8, 2)  // M_ARENA_MAX
        #endif
    }
}
