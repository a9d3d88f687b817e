import NIOCore

/// Everything presignd answers, independent of the protocol version; ``ReplyEncoder`` writes it as
/// RESP2 or RESP3.
package enum Reply: Sendable {
    /// `+OK`. CR and LF are sent as spaces: a simple string is one line.
    case simple(String)
    /// `-CODE message`: `code` is the stable first word gateways match on (`USED`, `ERR`, `NOPERM`);
    /// `message` may be empty. CR and LF are sent as spaces.
    case error(code: String, message: String)
    /// `:42`.
    case integer(Int)
    /// A binary-safe string.
    case bulk(ByteBuffer)
    /// No value: RESP2 `$-1`, RESP3 `_`.
    case null
    /// An ordered list.
    case array([Reply])
    /// A record: RESP3 map; for RESP2 a flat array of alternating keys and values, the shape of
    /// `HGETALL`, which every Redis client reads.
    case map([(key: Reply, value: Reply)])
    /// Out-of-band data such as a pub/sub message: RESP3 push; for RESP2 an array, as Redis sends
    /// pub/sub messages to RESP2 subscribers.
    case push([Reply])
    /// Text meant for people (INFO): RESP3 verbatim string of format `txt`; for RESP2 a bulk string.
    case verbatim(String)
}

extension Reply {
    /// A bulk string holding the UTF-8 of `string`.
    package static func bulk(_ string: String) -> Reply {
        .bulk(ByteBuffer(string: string))
    }

    /// A record from field names and values, in order.
    package static func record(_ fields: KeyValuePairs<String, Reply>) -> Reply {
        .map(fields.map { (key: .bulk($0.key), value: $0.value) })
    }
}

extension Reply: Equatable {
    package static func == (lhs: Reply, rhs: Reply) -> Bool {
        switch (lhs, rhs) {
        case (.simple(let a), .simple(let b)): return a == b
        case (.error(let codeA, let messageA), .error(let codeB, let messageB)):
            return codeA == codeB && messageA == messageB
        case (.integer(let a), .integer(let b)): return a == b
        case (.bulk(let a), .bulk(let b)): return a == b
        case (.null, .null): return true
        case (.array(let a), .array(let b)): return a == b
        case (.map(let a), .map(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.push(let a), .push(let b)): return a == b
        case (.verbatim(let a), .verbatim(let b)): return a == b
        default: return false
        }
    }
}
