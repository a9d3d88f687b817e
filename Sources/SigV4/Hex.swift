/// Lowercase hexadecimal output, as SigV4 uses for digests and signatures.
enum Hex {
    /// Writes `2 * bytes.count` characters at `out`.
    static func write(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutablePointer<UInt8>) {
        guard let source = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var index = 0
        while index < bytes.count {
            let byte = source[index]
            out[2 &* index] = lowerDigit(byte &>> 4)
            out[2 &* index &+ 1] = lowerDigit(byte & 0x0F)
            index &+= 1
        }
    }

    /// The lowercase hex digit of a value 0...15, without a branch: `9 - value` wraps (high bit
    /// set) exactly when the value is 10...15, which then adds the 39 from '9'+1 to 'a'.
    @inline(__always)
    static func lowerDigit(_ value: UInt8) -> UInt8 { value &+ 48 &+ ((9 &- value) &>> 7) &* 39 }

    /// The uppercase hex digit of a value 0...15 (percent-encoding uses upper case).
    @inline(__always)
    static func upperDigit(_ value: UInt8) -> UInt8 { value < 10 ? value &+ 48 : value &+ 55 }

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
