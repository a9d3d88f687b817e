internal import COpenSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A 32-byte SHA-256 or HMAC-SHA256 value, stored inline so that passing one around never allocates.
package struct Digest: Sendable, Hashable {
    private var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    static let byteCount = 32

    init() {}

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeMutableBytes(of: &storage, body)
    }

    /// Lowercase hexadecimal, 64 characters.
    package var hex: String {
        String(unsafeUninitializedCapacity: 64) { out in
            withUnsafeBytes { Hex.write($0, to: out.baseAddress!) }
            return 64
        }
    }

    /// Appends the 64 lowercase hex characters to `bytes`.
    func appendHex(to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes += repeatElement(0, count: 64)
        bytes.withUnsafeMutableBufferPointer { out in
            withUnsafeBytes { Hex.write($0, to: out.baseAddress! + start) }
        }
    }

    package static func == (lhs: Digest, rhs: Digest) -> Bool {
        lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, 32) == 0 } }
    }

    package func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// SHA-256 and HMAC-SHA256 on caller-owned OpenSSL states (see `HMACKey` for why the low-level calls).
enum Crypto {
    /// SHA-256 of `data`.
    static func sha256(_ data: UnsafeRawBufferPointer) -> Digest {
        var context = SHA256_CTX()
        guard SHA256_Init(&context) == 1 else { fatalError("SHA-256 failed in libcrypto") }
        return finish(&context, data)
    }

    /// Absorbs `data` into `context` and returns the final hash.
    static func finish(_ context: inout SHA256_CTX, _ data: UnsafeRawBufferPointer) -> Digest {
        var out = Digest()
        out.withUnsafeMutableBytes { out in
            guard SHA256_Update(&context, data.baseAddress, data.count) == 1,
                SHA256_Final(out.baseAddress?.assumingMemoryBound(to: UInt8.self), &context) == 1
            else { fatalError("SHA-256 failed in libcrypto") }
        }
        return out
    }

    /// HMAC-SHA256 of `data` under `key` (for keys used once; keep an `HMACKey` for keys used often).
    static func hmac(key: UnsafeRawBufferPointer, _ data: UnsafeRawBufferPointer) -> Digest {
        HMACKey(key).authenticate(data)
    }

    /// Constant-time equality of two byte ranges of the same length (CRYPTO_memcmp), so that a
    /// signature check leaks nothing about where the first difference is.
    static func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.count == 0 { return true }
        return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }
}
