/// The counters of one event loop's streams. Confined to that loop, so streams record without locks; the run
/// reads them with one `submit` per loop at the end. `counts` is changed per event, by one stream at a time, so it
/// is `@exclusivity(unchecked)`.
final class DeliveryTally {
    @exclusivity(unchecked) var counts = DeliveryCounts()
    /// Set when the run ends, so streams closed from then on are not counted as dropped.
    var stopping = false
}
