/// One Redis Stream entry, as `XREAD` and `XRANGE` return it.
package struct RedisStreamEntry: Sendable, Hashable {
    /// The entry id, `<ms>-<seq>`; pass the last one seen to resume after it.
    package var id: String
    /// The field-value pairs in the order they were added.
    package var fields: [Field]

    /// One field-value pair.
    package struct Field: Sendable, Hashable {
        package var name: String
        package var value: [UInt8]

        package init(name: String, value: [UInt8]) {
            self.name = name
            self.value = value
        }
    }

    package init(id: String, fields: [Field]) {
        self.id = id
        self.fields = fields
    }

    /// The value of the first field called `name`, decoded as UTF-8.
    package func text(of name: String) -> String? {
        fields.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) }
    }

    /// Reads `[id, [field, value, …]]`; nil for any other shape.
    init?(_ value: RESPValue) {
        guard let pair = value.array, pair.count == 2, let id = pair[0].string, let flat = pair[1].array,
            flat.count.isMultiple(of: 2)
        else { return nil }
        var fields: [Field] = []
        fields.reserveCapacity(flat.count / 2)
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let name = flat[index].string, case .bulkString(let value) = flat[index + 1] else { return nil }
            fields.append(Field(name: name, value: value))
        }
        self.init(id: id, fields: fields)
    }

    /// Reads an array of entries (an `XRANGE` reply, or one stream of an `XREAD` reply).
    static func list(_ value: RESPValue) throws(RedisClientError) -> [RedisStreamEntry] {
        guard let elements = value.array else { throw RedisClientError.unexpected(value, from: "stream read") }
        return try elements.map { element throws(RedisClientError) in
            guard let entry = RedisStreamEntry(element) else {
                throw RedisClientError.unexpected(element, from: "stream entry")
            }
            return entry
        }
    }
}
