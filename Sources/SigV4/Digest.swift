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

    /// The SHA-256 state before any input: H(0) of FIPS 180-4 §5.3.3, as SHA256_Init sets it (a
    /// test compares them). Written out so that it is laid out at compile time.
    static let initialState = SHA256_CTX(
        h: (0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19),
        Nl: 0, Nh: 0, data: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), num: 0, md_len: 32)

    /// Bytes a message needs after its last full block for `pad`: up to 64 + 8 of padding.
    static let paddingCapacity = 72

    /// Writes SHA-256's padding (FIPS 180-4 §5.1.1) after the `count` bytes at `message`, which
    /// starts at a block boundary, for a message of `length` bytes in all (including whole blocks
    /// hashed before `message`): 0x80, zeros, and the length in bits, big-endian. Returns the padded
    /// byte count from `message`; there must be room for `count + paddingCapacity` bytes.
    ///
    /// Padding the caller's own buffer lets `hashPadded` run the compression over it in one call,
    /// without SHA256_Final's copying into the context, its zero-fill and its cleanse.
    @inline(__always)
    static func pad(_ message: UnsafeMutablePointer<UInt8>, count: Int, length: Int) -> Int {
        let tail = count & 63
        let padded = (count &- tail) &+ (tail < 56 ? 64 : 128)
        message[count] = 0x80
        var zero = count + 1
        while zero < padded - 8 {
            message[zero] = 0
            zero &+= 1
        }
        UnsafeMutableRawPointer(message + padded - 8).storeBytes(of: UInt64(length &* 8).bigEndian, as: UInt64.self)
        return padded
    }

    /// The digest of `state` (at a block boundary) after absorbing `blocks`, whole padded blocks.
    @inline(__always)
    static func hashPadded(_ state: SHA256_CTX, _ blocks: UnsafeRawBufferPointer) -> Digest {
        precondition(state.num == 0 && blocks.count % 64 == 0, "SHA-256 of padded blocks from a block boundary")
        var context = state
        guard SHA256_Update(&context, blocks.baseAddress, blocks.count) == 1 else {
            fatalError("SHA-256 failed in libcrypto")
        }
        var out = Digest()
        out.withUnsafeMutableBytes { out in
            withUnsafeBytes(of: context.h) { words in
                for index in 0..<8 {
                    out.storeBytes(
                        of: words.load(fromByteOffset: index * 4, as: UInt32.self).bigEndian,
                        toByteOffset: index * 4, as: UInt32.self)
                }
            }
        }
        return out
    }

    /// SHA-256 of a whole message at `message`, padded in place: the buffer must have
    /// `paddingCapacity` bytes of room after the message's `count` bytes.
    static func sha256(paddingInPlace message: UnsafeMutablePointer<UInt8>, count: Int) -> Digest {
        let padded = pad(message, count: count, length: count)
        return hashPadded(initialState, UnsafeRawBufferPointer(start: message, count: padded))
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
