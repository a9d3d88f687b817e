internal import COpenSSL

/// An HMAC-SHA256 key made ready for use (RFC 2104): the SHA-256 states after absorbing
/// key ⊕ ipad and key ⊕ opad.
///
/// A MAC under a kept `HMACKey` costs only the message's compressions plus one for the outer hash,
/// with no allocation and no lookup. OpenSSL's `EVP_MAC` re-initialisation copies its contexts
/// through the provider layer on every call, which cost more than the hashing itself here (bench/sign).
/// The low-level `SHA256_*` calls used for that are deprecated in OpenSSL 3 but present and
/// SHA-NI accelerated; they work on caller-owned structs, so no per-thread state is needed.
///
/// The value is as sensitive as the key it was made from; it lives only in this process's memory.
struct HMACKey: Sendable {
    private var inner = SHA256_CTX()
    private var outer = SHA256_CTX()

    private static let blockSize = 64

    init(_ key: UnsafeRawBufferPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.blockSize) { block in
            block.initialize(repeating: 0)
            if key.count > Self.blockSize {
                Crypto.sha256(key).withUnsafeBytes { digest in
                    for (index, byte) in digest.enumerated() { block[index] = byte }
                }
            } else {
                for (index, byte) in key.enumerated() { block[index] = byte }
            }
            for index in block.indices { block[index] ^= 0x36 }
            guard SHA256_Init(&inner) == 1, SHA256_Update(&inner, block.baseAddress, Self.blockSize) == 1 else {
                fatalError("SHA-256 failed in libcrypto")
            }
            for index in block.indices { block[index] ^= 0x36 ^ 0x5C }
            guard SHA256_Init(&outer) == 1, SHA256_Update(&outer, block.baseAddress, Self.blockSize) == 1 else {
                fatalError("SHA-256 failed in libcrypto")
            }
            OPENSSL_cleanse(block.baseAddress, Self.blockSize)
        }
    }

    init(_ key: Digest) {
        self = key.withUnsafeBytes { HMACKey($0) }
    }

    /// This key with `prefix` already absorbed into its inner hash: `absorbing(p).authenticate(m)`
    /// is the MAC of `p + m`. A signer uses it for the start of the string to sign, which every URL
    /// signed in the same second shares, so that each URL hashes only its own bytes.
    func absorbing(_ prefix: UnsafeRawBufferPointer) -> HMACKey {
        var key = self
        guard SHA256_Update(&key.inner, prefix.baseAddress, prefix.count) == 1 else {
            fatalError("SHA-256 failed in libcrypto")
        }
        return key
    }

    /// HMAC-SHA256 of `data` under this key.
    func authenticate(_ data: UnsafeRawBufferPointer) -> Digest {
        var context = inner
        var innerDigest = Crypto.finish(&context, data)
        context = outer
        let mac = innerDigest.withUnsafeBytes { Crypto.finish(&context, $0) }
        innerDigest = Digest()
        return mac
    }

    func authenticate(_ text: String) -> Digest {
        var text = text
        return text.withUTF8 { authenticate(UnsafeRawBufferPointer($0)) }
    }
}
