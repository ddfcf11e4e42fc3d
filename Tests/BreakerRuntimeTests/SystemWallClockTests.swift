import BreakerCore
import BreakerRuntime
import Testing

/// The system clock as the breaker reads it. These tests read the real clock (nothing else
/// can show that a cached millisecond is never stale) but never sleep: they loop until they
/// have seen enough, with a 10 s cap so that a starved test runner cannot hang them. What they
/// require does not depend on how fast the loop runs.
@Suite struct SystemWallClockTests {
    let kernel = SystemWallClock()

    /// Every read lies between two reads of `CLOCK_REALTIME` taken just before and just after
    /// it, across at least 40 millisecond boundaries: the reader never answers with a
    /// millisecond that has already ended, nor one that has not begun.
    @Test func everyReadIsTheMillisecondTheKernelGivesAroundIt() {
        var reader = SystemWallClock.MillisecondReader()
        let start = kernel.now.milliseconds
        var reads = 0
        var outside: [(before: Int64, read: Int64, after: Int64)] = []
        var distinct = Set<Int64>()
        while distinct.count < 40 && kernel.now.milliseconds - start < 10_000 {
            let before = kernel.now.milliseconds
            let read = reader.read()
            let after = kernel.now.milliseconds
            if read < before || read > after { outside.append((before, read, after)) }
            distinct.insert(read)
            reads += 1
        }
        let first = outside.first.map { "\($0)" } ?? ""
        #expect(outside.isEmpty, "\(outside.count) of \(reads) reads fell outside their bracket, first: \(first)")
        #expect(distinct.count >= 40)
    }

    /// The same with 63 of every 64 reads unobserved, so that the reader runs as it does in a
    /// busy breaker, answering most reads from the counter: every 64th read must not lag a
    /// kernel read taken just before it.
    @Test func readsAnsweredFromTheCounterAreNotStale() {
        var reader = SystemWallClock.MillisecondReader()
        let start = kernel.now.milliseconds
        var stale = 0
        var checked = 0
        var sum: Int64 = 0
        while checked < 20_000 && kernel.now.milliseconds - start < 10_000 {
            for _ in 0..<63 { sum &+= reader.read() }
            let before = kernel.now.milliseconds
            if reader.read() < before { stale += 1 }
            checked += 1
        }
        #expect(stale == 0, "\(stale) of \(checked) checked reads lagged the kernel's clock")
        #expect(checked == 20_000 && sum > 0)
    }

    /// Once it has measured the counter's rate, the reader asks the kernel once per millisecond
    /// plus once per read in a millisecond's last 200 ns — a handful, however often it is read
    /// (a tight loop reads thousands of times per millisecond); without a usable counter, on
    /// every read.
    @Test func theReaderAsksTheKernelAFewTimesPerMillisecond() {
        var reader = SystemWallClock.MillisecondReader()
        // Until the rate is measured (two quick kernel reads at least 1 ms apart) every read
        // asks the kernel; warm up until one read is answered from the counter.
        let warmStart = kernel.now.milliseconds
        if SystemWallClock.MillisecondReader.counterIsUsable {
            var answeredFromCounter = false
            while !answeredFromCounter && kernel.now.milliseconds - warmStart < 10_000 {
                let kernelReads = reader.kernelReads
                _ = reader.read()
                answeredFromCounter = reader.kernelReads == kernelReads
            }
            #expect(answeredFromCounter)
        }
        let kernelReadsBefore = reader.kernelReads
        let start = kernel.now.milliseconds
        let reads = 2_000_000
        var sum: Int64 = 0
        for _ in 0..<reads { sum &+= reader.read() }
        let elapsedMs = kernel.now.milliseconds - start
        let kernelReads = reader.kernelReads - kernelReadsBefore
        #expect(sum > 0)
        if SystemWallClock.MillisecondReader.counterIsUsable {
            #expect(kernelReads <= 12 * Int(elapsedMs) + 16, "\(kernelReads) kernel reads in \(elapsedMs) ms")
        } else {
            #expect(kernelReads == reads)
        }
    }

    @Test func withoutTheCounterEveryReadAsksTheKernel() {
        var reader = SystemWallClock.MillisecondReader(useCounter: false)
        let before = kernel.now.milliseconds
        for _ in 0..<1000 { _ = reader.read() }
        let read = reader.read()
        #expect(reader.kernelReads == 1001)
        #expect(read >= before && read <= kernel.now.milliseconds)
    }

    /// A breaker on the system clock records the time of the call, as the kernel gives it.
    @Test func aBreakerOnTheSystemClockRecordsTheKernelsTime() throws {
        let sink = InMemoryFactSink()
        let breaker = CircuitBreaker(configuration: .standard, sink: sink)
        let acme = try TenantID("acme")
        let search = try ToolID("web_search")
        for _ in 0..<2000 {
            let before = kernel.now.milliseconds
            guard case .admitted(let permit) = breaker.admit(tenant: acme, tool: search, turn: try TurnID("t")) else {
                Issue.record("a closed circuit rejected a call")
                return
            }
            _ = breaker.complete(permit, .success(latencyUs: 10))
            let after = kernel.now.milliseconds
            let recorded = try #require(sink.drain().last).time.milliseconds
            #expect(recorded >= before && recorded <= after)
        }
    }
}
