/// The byte-wise URI encoding of SPEC §2.2 and its inverse, used by both the signer and the
/// verifier. Never Foundation's percent-encoding sets: they keep `+ ! $ & ' ( ) * , ; = : @`.
enum URIEncoding {
    /// Bit `b` is set when ASCII byte `b` (0...63) is unreserved: `- . 0-9`.
    private static let unreservedLow: UInt64 = 1 << 45 | 1 << 46 | 0x3FF << 48
    /// Bit `b - 64` is set when ASCII byte `b` (64...127) is unreserved: `A-Z _ a-z ~`.
    private static let unreservedHigh: UInt64 = 0x3FF_FFFF << 1 | 1 << 31 | 0x3FF_FFFF << 33 | 1 << 62
    private static let slash: UInt64 = 1 << 47

    /// True for `A-Z a-z 0-9 - _ . ~`, the bytes SigV4 never escapes.
    @inline(__always)
    static func isUnreserved(_ byte: UInt8) -> Bool { isKept(byte, keepSlash: false) }

    /// True for the bytes `UriEncode` writes as they are: the unreserved ones, and `/` when `keepSlash`.
    /// Two 64-bit masks instead of a chain of range checks: this runs once per byte of every key.
    @inline(__always)
    static func isKept(_ byte: UInt8, keepSlash: Bool) -> Bool {
        let mask = byte < 64 ? (keepSlash ? unreservedLow | slash : unreservedLow) : unreservedHigh
        return byte < 128 && (mask >> (byte & 63)) & 1 == 1
    }

    /// `UriEncode(bytes, keepSlash)` as a new byte array.
    static func encode(_ bytes: some Sequence<UInt8>, keepSlash: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for byte in bytes {
            if isKept(byte, keepSlash: keepSlash) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(Hex.upperDigit(byte >> 4))
                out.append(Hex.upperDigit(byte & 0x0F))
            }
        }
        return out
    }

    /// Percent-decodes `bytes`; nil when a `%` is not followed by two hex digits. `+` stays `+`:
    /// SigV4 never writes `+` for a space, so a literal `+` means itself.
    static func decode(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            bytes.formIndex(after: &index)
            guard byte == UInt8(ascii: "%") else {
                out.append(byte)
                continue
            }
            guard index != bytes.endIndex, let high = Hex.value(of: bytes[index]) else { return nil }
            bytes.formIndex(after: &index)
            guard index != bytes.endIndex, let low = Hex.value(of: bytes[index]) else { return nil }
            bytes.formIndex(after: &index)
            out.append(high << 4 | low)
        }
        return out
    }
}
