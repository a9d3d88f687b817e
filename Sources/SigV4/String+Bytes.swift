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

extension String {
    /// Whether the two Strings are the same UTF-8 bytes. Not `==`, which is Unicode canonical
    /// equivalence (a Kelvin sign equals a K): secrets, buckets and header values are bytes.
    func hasSameBytes(as other: String) -> Bool {
        // The same representation is the same bytes: a String of up to 15 bytes holds them in its
        // 16 bytes, a longer one points at its storage. So constants and short names and values
        // (most buckets and headers) match without reading their bytes.
        if unsafeBitCast(self, to: (UInt64, UInt64).self) == unsafeBitCast(other, to: (UInt64, UInt64).self) {
            return true
        }
        return utf8.withContiguousBytes { a in other.utf8.withContiguousBytes { a.same(0..<a.count, as: $0, 0..<$0.count) } }
    }

    /// A String of `bytes`, which the caller has made of ASCII alone (a URL from the signer's own
    /// encoders and checked parts): copied without the UTF-8 validation the other initialisers run
    /// over every byte. Checked in debug builds (every test).
    init(ascii bytes: UnsafeBufferPointer<UInt8>) {
        assert(bytes.allSatisfy { $0 < 0x80 }, "String(ascii:) given a byte that is not ASCII")
        self = unsafe String(copying: UTF8Span(unchecked: Span(_unsafeElements: bytes), isKnownASCII: true))
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these are exactly `text`'s bytes: one `memcmp`, where `elementsEqual` with a
    /// String's UTF-8 view walks it a byte at a time.
    func equals(_ text: StaticString) -> Bool {
        count == text.utf8CodeUnitCount && (count == 0 || memcmp(baseAddress!, text.utf8Start, count) == 0)
    }

    /// Whether `self[range]` and `other[otherRange]` are the same bytes (one `memcmp`).
    func same(_ range: Range<Int>, as other: UnsafeBufferPointer<UInt8>, _ otherRange: Range<Int>) -> Bool {
        range.count == otherRange.count
            && (range.isEmpty || memcmp(baseAddress! + range.lowerBound, other.baseAddress! + otherRange.lowerBound, range.count) == 0)
    }

    /// The index of the first `byte` in `self[start..<end]` (`end` defaults to the end), by
    /// `memchr`: the URL parsers look for separators this way.
    func index(of byte: UInt8, from start: Int, to end: Int? = nil) -> Int? {
        let end = end ?? count
        guard start < end, let base = baseAddress, let found = memchr(base + start, Int32(byte), end - start) else {
            return nil
        }
        return UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base
    }

    /// Calls `body` with each part of these bytes between `separator`s, in order (no separator:
    /// one part, the whole; empty parts included), until `body` returns false. Returns whether it
    /// went through every part.
    @discardableResult
    func forEachPart(separatedBy separator: UInt8, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        var start = 0
        while start <= count {
            let end = index(of: separator, from: start) ?? count
            guard body(UnsafeBufferPointer(rebasing: self[start..<end])) else { return false }
            start = end + 1
        }
        return true
    }
}
