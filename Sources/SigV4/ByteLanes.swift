/// Tests on the eight bytes of a `UInt64` at once (SWAR), for the byte checks that run over every
/// key, bucket name and signed header. Each test leaves 0x80 set in the lanes where it holds.
/// `within` and `letters` are exact only for lanes below 0x80, so callers rule out other bytes
/// first (`allASCII`): for such a byte, adding `0x80 - low` sets its high bit exactly when it is
/// at least `low`, and no sum carries into the next lane.
enum ByteLanes {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let high: UInt64 = 0x8080_8080_8080_8080

    /// The eight bytes at `pointer`, in memory order.
    @inline(__always)
    static func load(_ pointer: UnsafePointer<UInt8>) -> UInt64 {
        UnsafeRawPointer(pointer).loadUnaligned(as: UInt64.self)
    }

    /// Stores eight bytes at `pointer`, in memory order.
    @inline(__always)
    static func store(_ lanes: UInt64, to pointer: UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: lanes, as: UInt64.self)
    }

    @inline(__always)
    static func allASCII(_ lanes: UInt64) -> Bool { lanes & high == 0 }

    /// Lanes that are in `low...top`.
    @inline(__always)
    static func within(_ low: UInt8, _ top: UInt8, _ lanes: UInt64) -> UInt64 {
        (lanes &+ ones &* UInt64(0x80 &- low)) & ~(lanes &+ ones &* UInt64(0x7F &- top)) & high
    }

    /// Lanes equal to `byte`; exact for any lane (the sum never reaches the high bit's carry).
    @inline(__always)
    static func equal(_ byte: UInt8, _ lanes: UInt64) -> UInt64 {
        let difference = lanes ^ ones &* UInt64(byte)
        let low = ones &* 0x7F
        return ~(((difference & low) &+ low) | difference | low)
    }

    /// Lanes that are a letter, either case (with 0x20 set, exactly A-Z and a-z land on a-z).
    @inline(__always)
    static func letters(_ lanes: UInt64) -> UInt64 {
        within(UInt8(ascii: "a"), UInt8(ascii: "z"), lanes | ones &* 0x20)
    }

    /// Whether every byte of `bytes` passes `lanesPassing` (which returns the lanes that pass),
    /// eight at a time with the last eight overlapping; nil for fewer than eight bytes, which the
    /// caller checks one by one.
    @inline(__always)
    static func all(_ bytes: UnsafeBufferPointer<UInt8>, _ lanesPassing: (UInt64) -> UInt64) -> Bool? {
        guard bytes.count >= 8, let base = bytes.baseAddress else { return nil }
        var offset = 0
        while true {
            let lanes = load(base + min(offset, bytes.count &- 8))
            guard lanesPassing(lanes) == high else { return false }
            offset &+= 8
            if offset >= bytes.count { return true }
        }
    }
}
