/// Appends bytes into memory the caller owns (a stack buffer, or a String's uninitialised storage),
/// so that building a URL or a canonical request allocates nothing. Every append checks capacity:
/// callers size buffers from an upper bound, and a wrong bound must trap, never overwrite memory.
struct ByteWriter {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        self.base = buffer.baseAddress!
        self.capacity = buffer.count
    }

    var written: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    func bytes(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        precondition(count < capacity, "ByteWriter capacity exceeded")
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        precondition(bytes.count <= capacity &- count, "ByteWriter capacity exceeded")
        (base + count).update(from: source, count: bytes.count)
        count &+= bytes.count
    }

    @inline(__always)
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `UriEncode(bytes, keepSlash)` of SPEC §2.2: unreserved bytes as they are, `/` only
    /// when `keepSlash`, everything else as `%XY` with uppercase hex.
    mutating func appendEncoded(_ bytes: UnsafeBufferPointer<UInt8>, keepSlash: Bool) {
        precondition(bytes.count <= (capacity &- count) / 3, "ByteWriter capacity exceeded")
        count &+= URIEncoding.encode(bytes, keepSlash: keepSlash, to: base + count)
    }

    /// Appends a header name in lower case and says what kind of name it is; for `notToken` what
    /// it appended is meaningless.
    mutating func appendLowercaseToken(_ name: UnsafeBufferPointer<UInt8>) -> CanonicalHeaders.NameKind {
        precondition(name.count <= capacity &- count, "ByteWriter capacity exceeded")
        let kind = CanonicalHeaders.lowercaseToken(name, to: base + count)
        if kind != .notToken { count &+= name.count }
        return kind
    }

    /// Appends a header value to sign in canonical form, or returns false (what it appended then
    /// meaningless) when the value has a byte no header value may have
    /// (`CanonicalHeaders.isValidValue`). Most values, a media type or a length, are visible ASCII
    /// without a space or a tab: checked eight bytes at a time and copied as they are.
    mutating func appendCheckedHeaderValue(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        let plain = ByteLanes.all(value) { lanes in
            ByteLanes.allASCII(lanes) ? ByteLanes.within(0x21, 0x7E, lanes) : 0
        }
        if plain == true {
            append(value)
            return true
        }
        guard CanonicalHeaders.isValidValue(value) else { return false }
        appendCanonicalHeaderValue(value)
        return true
    }

    /// Appends a header value in canonical form (SPEC §2.4): trimmed, with each run of spaces and
    /// tabs collapsed to one space (botocore: `' '.join(value.split())`). Never longer than `value`.
    mutating func appendCanonicalHeaderValue(_ value: UnsafeBufferPointer<UInt8>) {
        precondition(value.count <= capacity &- count, "ByteWriter capacity exceeded")
        // Most values (a media type, a length) have no space or tab: as they are.
        if !CanonicalHeaders.hasWhitespace(value) {
            append(value)
            return
        }
        let start = count
        var pendingSpace = false
        for byte in value {
            if byte == UInt8(ascii: " ") || byte == 0x09 {
                pendingSpace = count > start
                continue
            }
            if pendingSpace {
                base[count] = UInt8(ascii: " ")
                count &+= 1
                pendingSpace = false
            }
            base[count] = byte
            count &+= 1
        }
    }

    /// Appends a non-negative integer in decimal.
    mutating func appendDecimal(_ value: Int64) {
        precondition(value >= 0)
        var width = 1
        var power: UInt64 = 10
        while width < 19 && UInt64(value) >= power {
            width &+= 1
            power &*= 10
        }
        precondition(width <= capacity &- count, "ByteWriter capacity exceeded")
        var rest = UInt64(value)
        var position = count &+ width
        repeat {
            position &-= 1
            base[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        } while position > count
        count &+= width
    }

    /// Appends a number as exactly `width` decimal digits, zero-padded.
    @inline(__always)
    mutating func appendPadded(_ value: Int, width: Int) {
        precondition(width <= capacity &- count, "ByteWriter capacity exceeded")
        var remaining = value
        var position = count &+ width
        while position > count {
            position &-= 1
            base[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
        }
        count &+= width
    }

    /// SHA-256 of what was written, padding it in place: the capacity must leave
    /// `Crypto.paddingCapacity` bytes after it. `written` is unchanged.
    func hashPaddingInPlace() -> Digest {
        precondition(Crypto.paddingCapacity <= capacity &- count, "ByteWriter capacity exceeded")
        return Crypto.sha256(paddingInPlace: base, count: count)
    }

    /// Appends the 32 bytes of a digest as 64 lowercase hex characters.
    mutating func appendHex(_ digest: Digest) {
        precondition(64 <= capacity &- count, "ByteWriter capacity exceeded")
        digest.withUnsafeBytes { Hex.write($0, to: base + count) }
        count &+= 64
    }
}
