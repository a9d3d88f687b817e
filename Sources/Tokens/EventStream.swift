import Redis

/// Reads the Stream of invalidation events (`<prefix>events`) that the Function library appends
/// to on every revocation: catch-up (`replay`) and following it live (`read` with `BLOCK`).
///
/// `read` blocks a connection for up to its block time, so a stream used for it must sit on a
/// client of its own (one connection, a command timeout longer than the block); `replay` does
/// not block and may share the daemon's client.
package final class EventStream: Sendable {
    /// What `replay` found.
    package enum Replay: Sendable, Equatable {
        /// The events after the given id, oldest first (maybe none).
        case events([TokenEvent])
        /// The Stream cannot say what came after the given id; the reason is for people.
        case resync(String)
    }

    /// The Stream's key.
    package let key: String
    private let client: any RedisCommandSender

    /// A reader of `keyspace.events` over `client`. On Redis Cluster every command goes to the
    /// primary owning the Stream key's slot.
    package init(client: any RedisCommandSender, keyspace: TokenKeyspace) {
        self.client = client
        self.key = keyspace.events
    }

    /// The events after `id` (exclusive), oldest first, at most `count` of them; or `.resync`
    /// when events after `id` may be missing:
    ///
    /// - Entries were trimmed (`entries-added` exceeds `length` in `XINFO STREAM`, Redis 7) and
    ///   `id` is older than the oldest entry kept (`recorded-first-entry-id`): trimming removes the
    ///   oldest entries first, so the ones between `id` and the oldest kept may be gone. `0-0` is
    ///   no exception: it asks for everything, and something is gone. (A caller whose id is
    ///   exactly the last entry trimmed gets a RESYNC it did not strictly need: safe, and rare.)
    /// - An entry newer than `id` was deleted by `XDEL` (`max-deleted-entry-id > id`).
    /// - `id` is newer than the last id the Stream ever generated: it did not come from this
    ///   Stream (or Redis lost data), so nothing can be said about what the caller missed.
    /// - The Stream does not exist and `id` is not `0-0`: same reason.
    ///
    /// `XRANGE` runs before `XINFO`: a trim between the two makes the answer `.resync`, never a
    /// silent gap.
    package func replay(after id: EventID, count: Int) async throws(TokenError) -> Replay {
        // Nothing can follow the largest id, and Redis refuses an interval that starts after it.
        var events: [TokenEvent] = []
        if id != .max {
            let range = try await send(["XRANGE", key, "(\(id)", "+", "COUNT", String(count)])
            if let message = range.errorMessage { throw TokenError(.unavailable, "Redis refused XRANGE: \(message)") }
            events = try Self.entries(range)
        }
        let info = try await send(["XINFO", "STREAM", key])
        if let message = info.errorMessage {
            guard message.contains("no such key") else {
                throw TokenError(.unavailable, "Redis refused XINFO: \(message)")
            }
            return id == .zero ? .events([]) : .resync("no event stream exists; the event id is not from it")
        }
        let fields = try Self.fields(info)
        guard let last = fields["last-generated-id"]?.string.flatMap(EventID.init),
            let deleted = fields["max-deleted-entry-id"]?.string.flatMap(EventID.init),
            let first = fields["recorded-first-entry-id"]?.string.flatMap(EventID.init),
            let added = fields["entries-added"]?.integer, let length = fields["length"]?.integer
        else { throw TokenError(.unavailable, "XINFO STREAM lacks the Redis 7 fields REPLAY needs") }
        if id > last { return .resync("the event id \(id) is newer than the stream's last event \(last)") }
        // Before the first entry: trimmed away, or, in a stream never trimmed, from before the
        // stream began (Redis lost it and it was started again by later events).
        if (id < first && (added > length || id != .zero)) || id < deleted {
            return .resync("the event stream no longer reaches back to \(id); its oldest event is \(first)")
        }
        return .events(events)
    }

    /// The id of the newest event the Stream ever had (`last-generated-id`), `0-0` when there is
    /// no Stream yet: following from it delivers exactly the events added afterwards.
    package func lastID() async throws(TokenError) -> EventID {
        let info = try await send(["XINFO", "STREAM", key])
        if let message = info.errorMessage {
            guard message.contains("no such key") else {
                throw TokenError(.unavailable, "Redis refused XINFO: \(message)")
            }
            return .zero
        }
        guard let last = try Self.fields(info)["last-generated-id"]?.string.flatMap(EventID.init) else {
            throw TokenError(.unavailable, "XINFO STREAM lacks last-generated-id")
        }
        return last
    }

    /// Waits up to `blockMilliseconds` for events after `id` and returns up to `count` of them,
    /// oldest first; empty when none came in time (`XREAD BLOCK`).
    package func read(after id: EventID, count: Int, blockMilliseconds: Int) async throws(TokenError) -> [TokenEvent] {
        let reply = try await send([
            "XREAD", "COUNT", String(count), "BLOCK", String(blockMilliseconds), "STREAMS", key, id.description,
        ])
        switch reply {
        case .null: return []
        case .error(let message): throw TokenError(.unavailable, "Redis refused XREAD: \(message)")
        case .array(let streams):
            // One stream asked for: [[key, entries]].
            guard streams.count == 1, let pair = streams[0].array, pair.count == 2 else {
                throw TokenError(.unavailable, "unexpected XREAD reply")
            }
            return try Self.entries(pair[1])
        default: throw TokenError(.unavailable, "unexpected XREAD reply")
        }
    }

    /// Shuts the client down: an only use for a stream with a client of its own, to end a `read`
    /// that is blocking.
    package func close() async {
        await client.shutdown()
    }

    private func send(_ command: [String]) async throws(TokenError) -> RESPValue {
        do {
            return try await client.send(command, routingKey: key)
        } catch {
            throw TokenError.unanswered(error)
        }
    }

    /// Entries as `XRANGE` and `XREAD` give them: `[[id, [field, value, …]], …]`. The payload is
    /// the `event` field the Function library writes.
    private static func entries(_ reply: RESPValue) throws(TokenError) -> [TokenEvent] {
        guard let list = reply.array else { throw TokenError(.unavailable, "unexpected stream entries reply") }
        var events: [TokenEvent] = []
        events.reserveCapacity(list.count)
        for entry in list {
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string.flatMap(EventID.init),
                let fields = parts[1].array, fields.count % 2 == 0
            else { throw TokenError(.unavailable, "unexpected stream entry") }
            let payload = stride(from: 0, to: fields.count, by: 2).first { fields[$0].string == "event" }
                .flatMap { fields[$0 + 1].string }
            guard let payload else { throw TokenError(.unavailable, "stream entry \(id) has no event field") }
            events.append(TokenEvent(id: id, payload: payload))
        }
        return events
    }

    /// A flat `[name, value, …]` reply as a dictionary.
    private static func fields(_ reply: RESPValue) throws(TokenError) -> [String: RESPValue] {
        guard let list = reply.array, list.count % 2 == 0 else { throw TokenError(.unavailable, "unexpected XINFO reply") }
        var fields: [String: RESPValue] = [:]
        for index in stride(from: 0, to: list.count, by: 2) {
            if let name = list[index].string { fields[name] = list[index + 1] }
        }
        return fields
    }
}
