extension String.UTF8View {
    /// Runs `body` over the string's UTF-8 bytes: in place for a native string (every string
    /// made on Linux), over a copy otherwise. Unlike `String.withUTF8`, it needs no `var`.
    @inline(__always)
    func withContiguousBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let result = try withContiguousStorageIfAvailable(body) { return result }
        return try Array(self).withUnsafeBufferPointer(body)
    }
}
