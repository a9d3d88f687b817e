/// The byte-wise URI encoding of SPEC §2.2 and its inverse, used by both the signer and the
/// verifier. Never Foundation's percent-encoding sets: they keep `+ ! $ & ' ( ) * , ; = : @`.
enum URIEncoding {
    /// True for `A-Z a-z 0-9 - _ . ~`, the bytes SigV4 never escapes.
    @inline(__always)
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// `UriEncode(bytes, keepSlash)` as a new byte array.
    static func encode(_ bytes: some Sequence<UInt8>, keepSlash: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for byte in bytes {
            if isUnreserved(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
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
