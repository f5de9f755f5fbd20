import ServerSupport
import Testing

@testable import Gateway

/// The open-stream table of ``StreamLimits``: counts per address up to the limit, and no entry left behind once an
/// address's streams have all closed (what keeps the table bounded by the node's open streams).
@Suite("Open streams per client address")
struct StreamLimitsTests {
    let one = ClientAddress("192.0.2.1")!
    let two = ClientAddress("2001:db8::2")!

    @Test func anAddressOpensUpToItsLimitAndAnotherAddressHasItsOwn() {
        var table = StreamLimits.OpenStreams()
        #expect(
            [table.open(one, limit: 2), table.open(one, limit: 2), table.open(one, limit: 2)] == [true, true, false])
        let another = table.open(two, limit: 2)
        #expect(another)
        #expect(table.counts == [one: 2, two: 1])
        table.close(one)
        let reopened = table.open(one, limit: 2)
        #expect(reopened, "a closed stream frees its place")
        let over = table.open(one, limit: 2)
        #expect(!over)
    }

    @Test func theEntryGoesWithTheLastStreamAndStrayClosesChangeNothing() {
        var table = StreamLimits.OpenStreams()
        let opened = (0..<3).map { _ in table.open(one, limit: 0) }
        #expect(opened == [true, true, true], "0 is no limit")
        for _ in 0..<3 { table.close(one) }
        #expect(table.counts.isEmpty)
        table.close(two)
        #expect(table.counts.isEmpty)
    }

    /// Ten thousand addresses, each opening and closing a stream: nothing stays in the table.
    @Test func manyAddressesLeaveNothingBehind() {
        var table = StreamLimits.OpenStreams()
        for number in 0..<10_000 {
            let address = ClientAddress(bits: 0x2001_0db8 << 96 | UInt128(number))
            let admitted = table.open(address, limit: 1)
            #expect(admitted)
            if number.isMultiple(of: 2) { table.close(address) }
        }
        #expect(table.counts.count == 5000)
        for number in stride(from: 1, to: 10_000, by: 2) {
            table.close(ClientAddress(bits: 0x2001_0db8 << 96 | UInt128(number)))
        }
        #expect(table.counts.isEmpty)
    }
}
