/// Lowercase hexadecimal output, as SigV4 uses for digests and signatures.
enum Hex {
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Writes `2 * bytes.count` characters at `out`.
    static func write(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutablePointer<UInt8>) {
        digits.withUnsafeBufferPointer { digits in
            for (index, byte) in bytes.enumerated() {
                out[2 &* index] = digits[Int(byte &>> 4)]
                out[2 &* index &+ 1] = digits[Int(byte & 0x0F)]
            }
        }
    }

    /// The value of one hexadecimal digit (either case), or nil.
    @inline(__always)
    static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit &- UInt8(ascii: "A") &+ 10
        default: nil
        }
    }
}
