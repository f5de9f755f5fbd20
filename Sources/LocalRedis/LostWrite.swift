import RedisClient

/// Removes one entry from a stream the way a write lost in a failover is absent from the promoted replica: the
/// stream is rebuilt without it, so no deleted-entry mark remembers it (`XDEL` would set one, and a trimmed or
/// deleted id counts as held).
public func dropStreamEntry(_ id: String, of key: String, on connection: RedisConnection) async throws {
    let entries = try await connection.send("XRANGE", key, "-", "+").array ?? []
    _ = try await connection.send("DEL", key)
    for entry in entries {
        guard let parts = entry.array, let entryID = parts[0].bytes.map({ String(decoding: $0, as: UTF8.self) }),
            entryID != id, let fields = parts[1].array
        else { continue }
        let values = fields.compactMap { $0.bytes.map { String(decoding: $0, as: UTF8.self) } }
        _ = try await connection.send(RedisCommand("XADD", arguments: [key, entryID] + values))
    }
}
