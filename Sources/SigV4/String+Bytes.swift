#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension String.UTF8View {
    /// Runs `body` over the string's UTF-8 bytes: in place for a native string (every string
    /// made on Linux), over a copy otherwise. Unlike `String.withUTF8`, it needs no `var`.
    @inline(__always)
    func withContiguousBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let result = try withContiguousStorageIfAvailable(body) { return result }
        return try Array(self).withUnsafeBufferPointer(body)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these are exactly `text`'s bytes: one `memcmp`, where `elementsEqual` with a
    /// String's UTF-8 view walks it a byte at a time.
    func equals(_ text: StaticString) -> Bool {
        count == text.utf8CodeUnitCount && (count == 0 || memcmp(baseAddress!, text.utf8Start, count) == 0)
    }
}
