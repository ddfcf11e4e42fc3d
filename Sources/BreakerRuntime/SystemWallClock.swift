public import BreakerCore
import CTimestampCounter

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system's wall clock: `now` reads `CLOCK_REALTIME`; sleeping waits on the monotonic
/// clock, so a wall-clock step does not stretch or cut a sleep.
public struct SystemWallClock: WallClock {
    public init() {}

    /// The current wall time, ms since the Unix epoch (UTC).
    public var now: Timestamp { Timestamp(milliseconds: Self.milliseconds(ofNanoseconds: Self.realtimeNanoseconds())) }

    public var minimumResolution: Duration { .milliseconds(1) }

    /// Sleeps until the wall clock reads `deadline`, measured as a monotonic duration from now.
    public func sleep(until deadline: Timestamp, tolerance: Duration?) async throws {
        let remaining = deadline.milliseconds - now.milliseconds
        if remaining > 0 {
            try await ContinuousClock().sleep(for: .milliseconds(remaining), tolerance: tolerance)
        }
    }

    /// `CLOCK_REALTIME` in ns since the Unix epoch.
    static func realtimeNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// The whole millisecond `ns` falls in (rounded down, also before the epoch).
    static func milliseconds(ofNanoseconds ns: Int64) -> Int64 {
        let (q, r) = ns.quotientAndRemainder(dividingBy: 1_000_000)
        return r < 0 ? q - 1 : q
    }
}

extension SystemWallClock {
    /// Reads the system wall clock in whole milliseconds, asking the kernel a few times per
    /// millisecond instead of on every read.
    ///
    /// The breaker reads the wall clock twice per call, under its lock, and the log keeps
    /// milliseconds; a `CLOCK_REALTIME` read costs tens of nanoseconds, most reads in a busy
    /// millisecond return the same value. After each real read the reader works out, from the
    /// CPU's timestamp counter, the last counter value that is certainly still inside the same
    /// millisecond; until the counter reaches it, a read costs one counter read. So the answer
    /// is always the millisecond `CLOCK_REALTIME` would give at that moment:
    /// - the counter's rate is measured between real reads at least 1 ms apart, bounded from
    ///   below (the earliest possible counter value over the latest), kept only when both reads
    ///   were quick (so the bound is within 0.1 % of the truth), the lowest of the recent
    ///   measurements, and used 1 % lower still; a lower rate only makes the reader ask the
    ///   kernel sooner;
    /// - the estimate is anchored on the counter value read *before* the kernel's answer, and
    ///   stops 200 ns short of the millisecond's end (reads in those last 200 ns ask the kernel);
    /// - a wall-clock step is seen at the next millisecond boundary at the latest; a forward
    ///   step while measuring lowers the rate (more kernel reads, never a wrong answer) for
    ///   about two thousand real reads, after which the lowest rate is measured afresh.
    ///
    /// Used only where the counter ticks at a constant rate through sleep states, is read by
    /// one instruction and the kernel itself keeps time by it (x86-64 with `constant_tsc` and
    /// `nonstop_tsc`, clock source `tsc`); elsewhere every read asks the kernel. A value type: keep it where one thread at a time reads it (the
    /// breaker keeps it under its lock).
    public struct MillisecondReader: Sendable {
        /// The counter is usable here: x86-64, Linux reports it invariant, and the kernel keeps
        /// time by it itself (it stops doing so when it finds the cores' counters out of step).
        public static let counterIsUsable: Bool =
            tb_timestamp_counter_exists() != 0 && cpuFlagsInclude(["constant_tsc", "nonstop_tsc"])
            && firstLine(of: "/sys/devices/system/clocksource/clocksource0/current_clocksource") == "tsc"

        private let usesCounter: Bool
        /// The millisecond of the last real read.
        private var milliseconds: Int64 = 0
        /// Counter values below this are still inside `milliseconds`.
        private var validUntil: UInt64 = 0
        /// Counter ticks per ns, a lower bound used 1 % lower; 0 until measured.
        private var ticksPerNanosecond: Double = 0
        /// The real read rates are measured from: its ns and the counter just after it.
        private var anchorNanoseconds: Int64 = 0
        private var anchorCounter: UInt64 = 0
        /// Counter ticks the anchor's kernel read took (from before it to after it).
        private var anchorWidth: UInt64 = 0
        private var lowestRate = Double.infinity
        private var previousLowestRate = Double.infinity
        private var ratesMeasured = 0

        /// Real reads of `CLOCK_REALTIME` so far.
        public private(set) var kernelReads = 0

        /// A reader; `useCounter: false` asks the kernel on every read.
        public init(useCounter: Bool = true) {
            usesCounter = useCounter && Self.counterIsUsable
        }

        /// The current wall time, whole ms since the Unix epoch.
        @inline(__always)
        public mutating func read() -> Int64 {
            guard usesCounter else {
                kernelReads &+= 1
                return SystemWallClock.milliseconds(ofNanoseconds: SystemWallClock.realtimeNanoseconds())
            }
            let counter = tb_timestamp_counter()
            if counter < validUntil { return milliseconds }
            return readKernel(counterBefore: counter)
        }

        @inline(never)
        private mutating func readKernel(counterBefore before: UInt64) -> Int64 {
            let ns = SystemWallClock.realtimeNanoseconds()
            let after = tb_timestamp_counter()
            kernelReads &+= 1
            measureRate(ns: ns, counterBefore: before, counterAfter: after)
            milliseconds = SystemWallClock.milliseconds(ofNanoseconds: ns)
            let untilNextMillisecond = (milliseconds + 1) * 1_000_000 - ns - 200
            if ticksPerNanosecond > 0 && untilNextMillisecond > 0 {
                validUntil = before &+ UInt64(Double(untilNextMillisecond) * ticksPerNanosecond)
            } else {
                validUntil = 0
            }
            return milliseconds
        }

        private mutating func measureRate(ns: Int64, counterBefore before: UInt64, counterAfter after: UInt64) {
            let span = ns - anchorNanoseconds
            if anchorNanoseconds == 0 || span < 0 || before <= anchorCounter {
                // First read, or the clock stepped back: measure from here.
                anchorNanoseconds = ns
                anchorCounter = after
                anchorWidth = after &- before
                return
            }
            guard span >= 1_000_000 else { return }
            let ticks = before - anchorCounter
            let width = after &- before
            // The true count lies within `width + anchorWidth` ticks above `ticks`. A read
            // interrupted while it asked the kernel (the thread was descheduled) widens that
            // gap; such a rate would be far too low, so it is not kept, and the next read
            // measures again from here.
            if (width &+ anchorWidth) <= ticks / 1000 {
                lowestRate = min(lowestRate, Double(ticks) / Double(span))
                ratesMeasured += 1
                if ratesMeasured == 1024 {
                    previousLowestRate = lowestRate
                    lowestRate = .infinity
                    ratesMeasured = 0
                }
                ticksPerNanosecond = min(lowestRate, previousLowestRate) * 0.99
            }
            anchorNanoseconds = ns
            anchorCounter = after
            anchorWidth = width
        }

        /// The first line of the file at `path` that `matches` accepts, without its newline;
        /// `nil` when there is none or the file cannot be read.
        private static func firstLine(of path: String, where matches: (String) -> Bool = { _ in true }) -> String? {
            guard let file = fopen(path, "r") else { return nil }
            defer { fclose(file) }
            var buffer: UnsafeMutablePointer<CChar>? = nil
            var capacity = 0
            defer { free(buffer) }
            while getline(&buffer, &capacity, file) > 0, let buffer {
                var text = String(cString: buffer)
                if text.hasSuffix("\n") { text.removeLast() }
                if matches(text) { return text }
            }
            return nil
        }

        /// Whether `/proc/cpuinfo` lists every one of `flags` for the first CPU.
        private static func cpuFlagsInclude(_ flags: [String]) -> Bool {
            guard let line = firstLine(of: "/proc/cpuinfo", where: { $0.hasPrefix("flags") }) else { return false }
            let present = Set(line.split(whereSeparator: { $0 == " " || $0 == "\t" }))
            return flags.allSatisfy { present.contains(Substring($0)) }
        }
    }
}
