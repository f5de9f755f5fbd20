import Foundation
import Testing

@testable import SSELoad

/// The benchmark suite's results and document (`sse-load suite`): typed records survive their JSON line, and the
/// targets table judges ours against the floor by the ratio the issue allows. No benchmark is run here.
@Suite("Benchmark records and targets")
struct BenchmarkDocumentTests {
    /// A record of `streams` streams that each received `events` events, the server using `cpu` seconds.
    static func record(_ system: String, _ scenario: String, cpu: Double, events: UInt64 = 10_000, streams: Int = 100)
        -> BenchmarkRecord
    {
        var counts = DeliveryCounts()
        counts.events = events * UInt64(streams)
        counts.comments = UInt64(streams)
        var record = BenchmarkRecord(system: system, scenario: scenario)
        record.subscribe = SubscribeResult(
            url: "http://127.0.0.1:1/sse?topic=t", requested: streams, connected: streams, failed: 0,
            connectSeconds: 0.5, cpuSeconds: 1, counts: counts, failures: [:])
        record.serverCPUSeconds = cpu
        return record
    }

    @Test func aRecordReadsBackFromItsJSONLineWithTheSameFigures() throws {
        var original = Self.record("ours-1", "S1", cpu: 2.5)
        original.streamsPerNode = 19_900
        original.subscribe?.commentsAfterArmed = 42
        let line = try JSONEncoder().encode(original)
        let decoded = try JSONDecoder().decode(BenchmarkRecord.self, from: line)
        #expect(decoded.system == "ours-1")
        #expect(decoded.scenario == "S1")
        #expect(decoded.serverCPUSeconds == 2.5)
        #expect(decoded.streamsPerNode == 19_900)
        #expect(decoded.subscribe?.events == 1_000_000)
        #expect(decoded.subscribe?.commentsAfterArmed == 42)
        #expect(decoded.cpuPerDeliveryMicroseconds == 2.5)
    }

    @Test func cpuPerDeliveryAtTheAllowedRatioIsMetAndAboveItIsNot() {
        let document = BenchmarkDocument(
            records: [
                Self.record("ours-1", "S1", cpu: 1.15), Self.record("floor", "S1", cpu: 1.0),
                Self.record("ours-1", "S2", cpu: 1.2), Self.record("floor", "S2", cpu: 1.0),
            ], machine: "", commands: "", runSummary: "", notes: nil)
        let targets = document.targets()
        let s1 = targets[0]
        let s2 = targets[1]
        #expect(s1.label == "S1 node CPU per delivery (µs) ≤ 1.15× floor")
        #expect(BenchmarkDocument.verdict(s1) == "met (1.15×)")
        #expect(BenchmarkDocument.verdict(s2) == "**not met** (1.20×)")
        // S7 against S1: no S7 record, so no verdict.
        #expect(BenchmarkDocument.verdict(targets[6]) == "–")
        let text = document.render()
        #expect(
            text.contains("| S1 node CPU per delivery (µs) ≤ 1.15× floor | 1.15 | 1.00 | 1.15× | met (1.15×) | – |"))
        #expect(text.contains("| **server CPU µs per delivery** | 1.15 | 1.00 | 1.15 |"))
    }
}
