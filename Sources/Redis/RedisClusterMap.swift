/// The slot map of a cluster as one node sees it: which primary serves which slot ranges. Read
/// from `CLUSTER SHARDS` (Redis 7.0+), which also says each node's role and health.
struct RedisClusterMap: Equatable {
    struct Primary: Hashable {
        let host: String
        let port: Int
    }

    /// The primary serving each slot range (inclusive bounds).
    var ranges: [(slots: ClosedRange<Int>, primary: Primary)] = []

    var primaries: Set<Primary> { Set(ranges.map(\.primary)) }

    static func == (lhs: RedisClusterMap, rhs: RedisClusterMap) -> Bool {
        lhs.ranges.count == rhs.ranges.count
            && zip(lhs.ranges, rhs.ranges).allSatisfy { $0.slots == $1.slots && $0.primary == $1.primary }
    }

    /// Reads a `CLUSTER SHARDS` reply: an array of shards, each a flat map with `slots` (start, end
    /// pairs) and `nodes` (flat maps with `ip`, `endpoint`, `port`, `role`, `health`). A shard whose
    /// primary is marked failed serves nothing until its replica takes over; `answeredBy` fills in an
    /// endpoint the node does not know (`?` or empty).
    init(shards reply: RESPValue, answeredBy host: String) throws(RedisClientError) {
        guard let shards = reply.array else { throw RedisClientError.unexpected(reply, from: "CLUSTER SHARDS") }
        for shard in shards {
            let fields = try Self.fields(shard)
            guard let slots = fields["slots"]?.array, slots.count % 2 == 0, let nodes = fields["nodes"]?.array else {
                throw RedisClientError.unexpected(reply, from: "CLUSTER SHARDS")
            }
            var primary: Primary?
            for node in nodes {
                let node = try Self.fields(node)
                guard node["role"]?.string == "master", node["health"]?.string != "failed",
                    let port = node["port"]?.integer ?? node["tls-port"]?.integer
                else { continue }
                // A node that never met another one does not know its own address ("" or "?").
                let known = [node["endpoint"]?.string, node["ip"]?.string].compactMap { $0 }
                let address = known.first { !$0.isEmpty && $0 != "?" } ?? host
                primary = Primary(host: address, port: Int(port))
            }
            guard let primary else { continue }
            for index in stride(from: 0, to: slots.count, by: 2) {
                guard let start = slots[index].integer, let end = slots[index + 1].integer, 0 <= start, start <= end,
                    end < RedisKeySlot.count
                else { throw RedisClientError.unexpected(reply, from: "CLUSTER SHARDS") }
                ranges.append((Int(start)...Int(end), primary))
            }
        }
        ranges.sort { $0.slots.lowerBound < $1.slots.lowerBound }
    }

    private static func fields(_ value: RESPValue) throws(RedisClientError) -> [String: RESPValue] {
        guard let flat = value.array, flat.count % 2 == 0 else {
            throw RedisClientError.unexpected(value, from: "CLUSTER SHARDS")
        }
        var fields: [String: RESPValue] = [:]
        for index in stride(from: 0, to: flat.count, by: 2) {
            if let name = flat[index].string { fields[name] = flat[index + 1] }
        }
        return fields
    }
}
