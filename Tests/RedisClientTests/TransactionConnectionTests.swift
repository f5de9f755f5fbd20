import LocalRedis
import Logging
import RedisClient
import Synchronization
import Testing

@Suite("The transaction connection: one turn at a time, bounded waits (real redis-server)")
struct TransactionConnectionTests {
    /// Twenty callers queue behind a held turn, each after the one before is waiting: their turns run in exactly
    /// that order, and never two at once (a WATCH and a later round trip in one turn are not interleaved).
    @Test func turnsRunOneAtATimeInArrivalOrder() async throws {
        try await withLocalRedis { redis in
            // The timeout bounds each turn's wait for the ones before it; generous, so a loaded machine cannot fail
            // the order check.
            let transactions = TransactionConnection(
                configuration: redis.configuration, timeout: .seconds(30), logger: Logger(label: "test"))
            let release = Flag()
            let holding = Flag()
            let holder = Task {
                try await transactions.run("holder") { connection in
                    holding.set()
                    try await waitUntil("the waiters have queued", timeout: .seconds(25)) { release.isSet }
                    return try await connection.send("PING")
                }
            }
            try await waitUntil("the holder has its turn") { holding.isSet }
            let ran = Recorded()
            var waiters: [Task<Bool, any Error>] = []
            for index in 0..<20 {
                waiters.append(
                    Task {
                        try await transactions.run("turn \(index)") { connection in
                            ran.append(index)
                            // WATCH then a separate round trip: another turn interleaving here would break it.
                            try await connection.send("WATCH", "k")
                            let before = try await connection.send("INCR", "k").int ?? -1
                            try await connection.send("UNWATCH")
                            let after = try await connection.send("GET", "k").int ?? -1
                            return before == after
                        }
                    })
                try await waitUntil("caller \(index) is waiting") { transactions.waitingTurns == index + 1 }
            }
            release.set()
            #expect(try await holder.value == .status("PONG"))
            var exclusive: [Bool] = []
            for waiter in waiters { exclusive.append(try await waiter.value) }
            #expect(ran.values == Array(0..<20))
            #expect(exclusive == Array(repeating: true, count: 20))
            await transactions.close()
        }
    }

    @Test func aWaiterGivesUpAfterTheTimeoutAndTheNextTurnConnectsAgain() async throws {
        try await withLocalRedis { redis in
            let transactions = TransactionConnection(
                configuration: redis.configuration, timeout: .seconds(1), logger: Logger(label: "test"))
            let holding = Flag()
            let holderDone = Flag()
            let holder = Task {
                defer { holderDone.set() }
                return try await transactions.run("holder") { connection in
                    try await connection.send("PING")
                    holding.set()
                    // The scenario: a turn that outlives the 1 s deadline (its connection is closed under it) by far more
                    // than the waiter's own 1 s wait, so a slow timer on a loaded machine cannot hand the waiter the turn.
                    // (At 3 s, a full parallel test run once delayed the waiter's give-up past the holder's end.)
                    try await Task.sleep(for: .milliseconds(6000))
                    return connection.isActive
                }
            }
            try await waitUntil("the holder has its turn") { holding.isSet }
            let started = ContinuousClock.now
            do {
                _ = try await transactions.run("waiter") { connection in try await connection.send("PING") }
                Issue.record("the waiter got a turn while the holder held it")
            } catch RedisError.commandTimeout(let address, let command, let milliseconds) {
                #expect(address == redis.configuration.address)
                #expect(command == "waiter (waiting for the transaction connection)")
                #expect(milliseconds == 1000)
            }
            let waited = ContinuousClock.now - started
            // It gave up on its own deadline, not by the holder's turn ending (that would take 6 s; a clock bound
            // below 6 s failed once on a loaded machine, so the holder's flag says it instead).
            #expect(!holderDone.isSet, "the waiter gave up only after the holder's turn ended (\(waited))")
            #expect(waited >= .milliseconds(900), "\(waited)")
            #expect(try await holder.value == false)
            let reply = try await transactions.run("after") { connection in try await connection.send("PING") }
            #expect(reply == .status("PONG"))
            await transactions.close()
        }
    }
}

/// A flag set by one task and read by another.
private final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// Numbers recorded by several tasks, in the order they were recorded.
private final class Recorded: Sendable {
    private let list = Mutex([Int]())
    func append(_ number: Int) { list.withLock { $0.append(number) } }
    var values: [Int] { list.withLock { $0 } }
}
