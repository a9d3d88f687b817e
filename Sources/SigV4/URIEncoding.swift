/// The byte-wise URI encoding of SPEC §2.2 and its inverse, used by both the signer and the
/// verifier. Never Foundation's percent-encoding sets: they keep `+ ! $ & ' ( ) * , ; = : @`.
enum URIEncoding {
    /// True for `A-Z a-z 0-9 - _ . ~`, the bytes SigV4 never escapes.
    @inline(__always)
    static func isUnreserved(_ byte: UInt8) -> Bool { isKept(byte, keepSlash: false) }

    /// For each byte value: bit 0 set when `UriEncode` writes it as it is, bit 1 when it does so
    /// with `keepSlash` (3: `A-Z a-z 0-9 - _ . ~`; 2: `/`). A table rather than range checks: this
    /// runs once per byte of every key, and keys mix letters with digits, `/`, `.` and `-`, which
    /// made the checks' branches mispredict. A literal, so that it is laid out at compile time
    /// (no lazy initialisation to check on each use); `everyByteIsClassifiedAsTheSpecSays` checks it.
    static let keptBits: [UInt8] = [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0x00
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0x10
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 2,  // 0x20
        3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0,  // 0x30
        0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  // 0x40
        3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 3,  // 0x50
        0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  // 0x60
        3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 3, 0,  // 0x70
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0x80
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0x90
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xA0
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xB0
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xC0
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xD0
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xE0
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xF0
    ]

    /// True for the bytes `UriEncode` writes as they are: the unreserved ones, and `/` when `keepSlash`.
    @inline(__always)
    static func isKept(_ byte: UInt8, keepSlash: Bool) -> Bool {
        keptBits.withUnsafeBufferPointer { $0[Int(byte)] & (keepSlash ? 2 : 1) != 0 }
    }

    /// Writes `UriEncode(bytes, keepSlash)` at `out`, which must have room for `3 * bytes.count`;
    /// returns how many bytes it wrote.
    static func encode(_ bytes: UnsafeBufferPointer<UInt8>, keepSlash: Bool, to out: UnsafeMutablePointer<UInt8>) -> Int
    {
        guard let source = bytes.baseAddress else { return 0 }
        // Eight bytes at a time while all of them are kept, as in most keys; the rest byte by byte.
        var read = 0
        while read &+ 8 <= bytes.count {
            let chunk = ByteLanes.load(source + read)
            guard allKept(chunk, keepSlash: keepSlash) else { break }
            ByteLanes.store(chunk, to: out + read)
            read &+= 8
        }
        // Everything so far was kept, so output and input are in step: the last eight bytes,
        // overlapping those done, finish the job when they are kept too.
        if read < bytes.count && bytes.count >= 8 && read &+ 8 > bytes.count {
            let last = bytes.count &- 8
            let chunk = ByteLanes.load(source + last)
            if allKept(chunk, keepSlash: keepSlash) {
                ByteLanes.store(chunk, to: out + last)
                return bytes.count
            }
        }
        return read
            &+ encodeBytewise(UnsafeBufferPointer(rebasing: bytes[read...]), keepSlash: keepSlash, to: out + read)
    }

    /// Whether `UriEncode` keeps all eight bytes of `chunk` as they are.
    @inline(__always)
    private static func allKept(_ chunk: UInt64, keepSlash: Bool) -> Bool {
        guard ByteLanes.allASCII(chunk) else { return false }
        // `- . / 0-9` are 0x2D...0x39.
        var dashDotSlashDigit = ByteLanes.within(UInt8(ascii: "-"), UInt8(ascii: "9"), chunk)
        if !keepSlash { dashDotSlashDigit &= ~ByteLanes.equal(UInt8(ascii: "/"), chunk) }
        let kept =
            ByteLanes.letters(chunk) | dashDotSlashDigit | ByteLanes.equal(UInt8(ascii: "_"), chunk)
            | ByteLanes.equal(UInt8(ascii: "~"), chunk)
        return kept == ByteLanes.high
    }

    private static func encodeBytewise(
        _ bytes: UnsafeBufferPointer<UInt8>, keepSlash: Bool, to out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        let bit: UInt8 = keepSlash ? 2 : 1
        return keptBits.withUnsafeBufferPointer { kept in
            var index = 0
            for byte in bytes {
                if kept[Int(byte)] & bit != 0 {
                    out[index] = byte
                    index &+= 1
                } else {
                    let escape = escaped(byte)
                    out[index] = escape.percent
                    out[index &+ 1] = escape.high
                    out[index &+ 2] = escape.low
                    index &+= 3
                }
            }
            return index
        }
    }

    /// `UriEncode(bytes, keepSlash)` as a new byte array.
    static func encode(_ bytes: some Sequence<UInt8>, keepSlash: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for byte in bytes { append(byte, keepSlash: keepSlash, to: &out) }
        return out
    }

    /// Appends `UriEncode` of one byte to `out`.
    @inline(__always)
    static func append(_ byte: UInt8, keepSlash: Bool, to out: inout [UInt8]) {
        if isKept(byte, keepSlash: keepSlash) {
            out.append(byte)
        } else {
            let escape = escaped(byte)
            out.append(escape.percent)
            out.append(escape.high)
            out.append(escape.low)
        }
    }

    /// The `%XY` escape of a byte, with upper-case hex digits.
    @inline(__always)
    private static func escaped(_ byte: UInt8) -> (percent: UInt8, high: UInt8, low: UInt8) {
        (UInt8(ascii: "%"), Hex.upperDigit(byte &>> 4), Hex.upperDigit(byte & 0x0F))
    }

    /// The byte at `index`, or the one a `%XY` escape there stands for; moves `index` past it. Nil
    /// when a `%` is not followed by two hex digits. `+` stays `+`: SigV4 never writes `+` for a
    /// space, so a literal `+` means itself.
    @inline(__always)
    static func decodedByte(_ bytes: UnsafeBufferPointer<UInt8>, at index: inout Int) -> UInt8? {
        let byte = bytes[index]
        guard byte == UInt8(ascii: "%") else {
            index += 1
            return byte
        }
        guard index + 2 < bytes.count, let high = Hex.value(of: bytes[index + 1]),
            let low = Hex.value(of: bytes[index + 2])
        else { return nil }
        index += 3
        return high << 4 | low
    }

    /// Percent-decodes `bytes` into `out` from `offset` on and returns how many bytes it wrote; nil
    /// on an invalid escape. `out` must have room for `bytes.count` (decoding never lengthens).
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>, at offset: Int)
        -> Int?
    {
        precondition(bytes.count <= out.count - offset)
        guard let source = bytes.baseAddress, let target = out.baseAddress else { return 0 }
        var index = 0
        var count = offset
        while index < bytes.count {
            // The run up to the next `%` as it is, then the escape.
            let run = bytes.index(of: UInt8(ascii: "%"), from: index) ?? bytes.count
            (target + count).update(from: source + index, count: run - index)
            count += run - index
            index = run
            if index == bytes.count { break }
            guard let byte = decodedByte(bytes, at: &index) else { return nil }
            target[count] = byte
            count += 1
        }
        return count - offset
    }

    /// Percent-decodes `bytes` into a new array; nil on an invalid escape.
    static func decode(_ bytes: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: bytes.count)
        let count = bytes.withUnsafeBufferPointer { bytes in
            out.withUnsafeMutableBufferPointer { decode(bytes, into: $0, at: 0) }
        }
        guard let count else { return nil }
        return Array(out[..<count])
    }
}
