/// The names of shard links' probe channels: `sse:probe:<id>:{<n>}`, whose slot is the slot of `n` alone (the hash
/// tag), so one table of the smallest `n` per slot names a channel of any slot at once.
///
/// Never a topic channel (those start `sse:{`), so a gateway cannot mistake a probe for an event.
enum ShardProbeChannel {
    /// The probe channel of slot `slot` for the link owner `id` (random per subscriber).
    static func name(id: String, slot: HashSlot) -> String {
        "sse:probe:\(id):{\(tags[slot.value])}"
    }

    /// For each slot, the smallest decimal number whose text hashes there: every slot has one below 110,000, so
    /// this is made once (a few milliseconds) on first use.
    static let tags: [Int] = {
        var tags = [Int](repeating: -1, count: HashSlot.count)
        var remaining = HashSlot.count
        var number = 0
        while remaining > 0 {
            let slot = HashSlot(key: String(number)).value
            if tags[slot] < 0 {
                tags[slot] = number
                remaining -= 1
            }
            number += 1
        }
        return tags
    }()
}
