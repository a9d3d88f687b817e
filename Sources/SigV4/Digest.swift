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

    package static func == (lhs: Digest, rhs: Digest) -> Bool {
        lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, 32) == 0 } }
    }

    package func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// SHA-256 and HMAC-SHA256 on the calling thread's kept OpenSSL contexts.
enum Crypto {
    /// SHA-256 of `data`.
    static func sha256(_ data: UnsafeRawBufferPointer) -> Digest {
        let ctx = CryptoContexts.current.md
        var out = Digest()
        out.withUnsafeMutableBytes { out in
            var length: UInt32 = 0
            guard EVP_DigestInit_ex2(ctx, CryptoAlgorithms.shared.sha256, nil) == 1,
                EVP_DigestUpdate(ctx, data.baseAddress, data.count) == 1,
                EVP_DigestFinal_ex(ctx, out.baseAddress?.assumingMemoryBound(to: UInt8.self), &length) == 1,
                length == 32
            else { fatalError("SHA-256 failed in libcrypto") }
        }
        return out
    }

    /// HMAC-SHA256 of `data` under `key`.
    static func hmac(key: UnsafeRawBufferPointer, _ data: UnsafeRawBufferPointer) -> Digest {
        let contexts = CryptoContexts.current
        contexts.initMAC(key: key)
        var out = Digest()
        out.withUnsafeMutableBytes { out in
            var length = 0
            guard EVP_MAC_update(contexts.mac, data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count) == 1,
                EVP_MAC_final(contexts.mac, out.baseAddress?.assumingMemoryBound(to: UInt8.self), &length, 32) == 1,
                length == 32
            else { fatalError("HMAC-SHA256 failed in libcrypto") }
        }
        return out
    }

    static func hmac(key: Digest, _ data: UnsafeRawBufferPointer) -> Digest {
        key.withUnsafeBytes { hmac(key: $0, data) }
    }

    static func hmac(key: Digest, _ text: String) -> Digest {
        var text = text
        return text.withUTF8 { hmac(key: key, UnsafeRawBufferPointer($0)) }
    }

    /// Constant-time equality of two byte ranges of the same length (CRYPTO_memcmp), so that a
    /// signature check leaks nothing about where the first difference is.
    static func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.count == 0 { return true }
        return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }
}
