/// The counters of one event loop's streams. Confined to that loop, so streams record without locks; the run
/// reads them with one `submit` per loop at the end.
final class DeliveryTally {
    var counts = DeliveryCounts()
    /// Set when the run ends, so streams closed from then on are not counted as dropped.
    var stopping = false
}
