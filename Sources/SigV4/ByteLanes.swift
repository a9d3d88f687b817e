/// Tests on the eight bytes of a `UInt64` at once (SWAR), for the byte checks that run over every
/// key and bucket name. Each test leaves 0x80 set in the lanes where it holds, and is exact only for
/// lanes below 0x80: callers rule out other bytes first (`allASCII`). For such a byte, adding
/// `0x80 - low` sets its high bit exactly when it is at least `low`, and no sum carries into the
/// next lane.
enum ByteLanes {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let high: UInt64 = 0x8080_8080_8080_8080

    /// The eight bytes at `pointer`, in memory order.
    @inline(__always)
    static func load(_ pointer: UnsafePointer<UInt8>) -> UInt64 {
        UnsafeRawPointer(pointer).loadUnaligned(as: UInt64.self)
    }

    @inline(__always)
    static func allASCII(_ lanes: UInt64) -> Bool { lanes & high == 0 }

    /// Lanes that are in `low...top`.
    @inline(__always)
    static func within(_ low: UInt8, _ top: UInt8, _ lanes: UInt64) -> UInt64 {
        (lanes &+ ones &* UInt64(0x80 &- low)) & ~(lanes &+ ones &* UInt64(0x7F &- top)) & high
    }

    /// Lanes equal to `byte`.
    @inline(__always)
    static func equal(_ byte: UInt8, _ lanes: UInt64) -> UInt64 {
        ~((lanes ^ ones &* UInt64(byte)) &+ ones &* 0x7F) & high
    }

    /// Lanes that are a letter, either case (with 0x20 set, exactly A-Z and a-z land on a-z).
    @inline(__always)
    static func letters(_ lanes: UInt64) -> UInt64 {
        within(UInt8(ascii: "a"), UInt8(ascii: "z"), lanes | ones &* 0x20)
    }
}
