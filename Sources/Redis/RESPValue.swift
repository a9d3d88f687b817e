/// One RESP2 reply from Redis, copied out of hiredis's reply tree so that it is a plain Sendable value.
package enum RESPValue: Sendable, Hashable {
    /// A status reply (`+OK`).
    case simpleString(String)
    /// A Redis error reply, e.g. `USED no uses left` (the text after the `-`). It is a value, not a
    /// thrown error: the command reached Redis and Redis answered.
    case error(String)
    /// An integer reply (`:42`).
    case integer(Int64)
    /// A bulk string (`$3\r\nabc`): binary-safe bytes.
    case bulkString([UInt8])
    /// A null bulk string (`$-1`) or a null array (`*-1`); RESP2 does not tell them apart usefully.
    case null
    /// An array reply; elements may be arrays themselves.
    case array([RESPValue])
}

extension RESPValue {
    /// The text of a status or bulk string reply (bulk bytes decoded as UTF-8), or nil for other kinds.
    package var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The value of an integer reply, or nil for other kinds.
    package var integer: Int64? {
        if case .integer(let value) = self { value } else { nil }
    }

    /// The elements of an array reply, or nil for other kinds.
    package var array: [RESPValue]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// The message of an error reply, or nil for other kinds.
    package var errorMessage: String? {
        if case .error(let message) = self { message } else { nil }
    }
}
