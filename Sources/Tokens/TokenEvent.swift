/// One invalidation event as the Stream keeps it: its id and its one-line JSON payload
/// (PROTOCOL.md, "Events"). The payload is passed on as Redis holds it, never rebuilt.
package struct TokenEvent: Sendable, Hashable {
    /// The Stream entry id; what `REPLAY` takes.
    package var id: EventID
    /// `{"event":"revoked","id":…,"bucket":…,"key":…,"reason":…,"by":…,"at":…}`.
    package var payload: String

    package init(id: EventID, payload: String) {
        self.id = id
        self.payload = payload
    }

    /// The payload with the event id as its first field, `{"event_id":"<id>",…}`: what presignd
    /// hands to its subscribers, so that a subscriber knows which id to `REPLAY` from after a
    /// disconnect. (The Function library writes the payload before `XADD` picks the id, so the
    /// stored payload cannot hold it.)
    package var payloadWithID: String {
        guard payload.utf8.first == UInt8(ascii: "{") else { return payload }
        let rest = payload.utf8.dropFirst()
        let separator = rest.first == UInt8(ascii: "}") ? "" : ","
        return "{\"event_id\":\"\(id)\"" + separator + String(decoding: rest, as: UTF8.self)
    }
}

extension TokenEvent {
    /// The object the event is about, read from the payload's `bucket` and `key` fields; nil when
    /// the payload is not a flat JSON object of strings and numbers holding both (a reader that
    /// needs the object, such as a scope filter, then treats the event as about no object it may
    /// see).
    package var object: (bucket: String, key: String)? {
        var reader = FlatJSONObject(payload.utf8)
        var bucket: String?
        var key: String?
        while let (name, value) = reader.next() {
            switch name {
            case "bucket": bucket = value
            case "key": key = value
            default: break
            }
        }
        guard reader.complete, let bucket, let key else { return nil }
        return (bucket, key)
    }
}

/// Reads `{"name":"string" or number,…}` one member at a time: the shape of event payloads. A
/// number is returned as its text. Anything else (nesting, literals, bad escapes) ends the reading
/// with `complete` false.
private struct FlatJSONObject {
    private let bytes: [UInt8]
    private var index = 0
    private var started = false
    /// Whether the closing brace was reached with everything before it well formed.
    private(set) var complete = false

    init(_ text: String.UTF8View) {
        bytes = Array(text)
    }

    mutating func next() -> (name: String, value: String)? {
        guard !complete else { return nil }
        if !started {
            started = true
            guard take(UInt8(ascii: "{")) else { return fail() }
            if take(UInt8(ascii: "}")) { return finish() }
        } else if take(UInt8(ascii: "}")) {
            return finish()
        } else if !take(UInt8(ascii: ",")) {
            return fail()
        }
        guard let name = string(), take(UInt8(ascii: ":")) else { return fail() }
        let value: String?
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            value = string()
        } else {
            value = number()
        }
        guard let value else { return fail() }
        return (name, value)
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func fail() -> (name: String, value: String)? {
        index = bytes.count
        started = true
        return nil
    }

    private mutating func finish() -> (name: String, value: String)? {
        complete = index == bytes.count
        return nil
    }

    private mutating func number() -> String? {
        let start = index
        let numeric = Set("-.0123456789".utf8)
        while index < bytes.count, numeric.contains(bytes[index]) { index += 1 }
        return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
    }

    /// The four hex digits after `\u`, as a number; nil when they are not four hex digits.
    private mutating func hexQuad() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        let digits = bytes[index..<index + 4]
        guard digits.allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
            let code = UInt32(String(decoding: digits, as: UTF8.self), radix: 16)
        else { return nil }
        index += 4
        return code
    }

    /// A JSON string with its escapes resolved; nil for a malformed one, a lone surrogate
    /// included, or one that is not UTF-8.
    private mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        var out: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var code = hexQuad() else { return nil }
                    // A high surrogate must be followed by `\u` and a low one: together one scalar.
                    if (0xD800...0xDBFF).contains(code) {
                        guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hexQuad(),
                            (0xDC00...0xDFFF).contains(low)
                        else { return nil }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { return nil }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: return nil
                }
            case 0..<0x20:
                return nil
            default:
                out.append(byte)
            }
        }
        return nil
    }
}
