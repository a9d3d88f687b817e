internal import COpenSSL

/// An HMAC-SHA256 key made ready for use (RFC 2104): the SHA-256 states after absorbing
/// key ⊕ ipad and key ⊕ opad, and optionally a message prefix that many MACs share.
///
/// A MAC under a kept `HMACKey` costs only the message's compressions plus one for the outer hash,
/// with no allocation and no lookup. OpenSSL's `EVP_MAC` re-initialisation copies its contexts
/// through the provider layer on every call, which cost more than the hashing itself here (bench/sign).
/// The low-level `SHA256_*` calls used for that are deprecated in OpenSSL 3 but present and
/// SHA-NI accelerated; they work on caller-owned structs, so no per-thread state is needed. The
/// padding is written here (`Crypto.pad`), so that each hash is one call into libcrypto.
///
/// The value is as sensitive as the key it was made from; it lives only in this process's memory.
struct HMACKey: Sendable {
    /// The inner hash at its last block boundary: key ⊕ ipad and the whole blocks of the prefix.
    private var inner = SHA256_CTX()
    private var outer = SHA256_CTX()
    /// The prefix's bytes after `inner`'s last block boundary (fewer than 64), and how many.
    private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var pendingCount = 0
    /// Bytes absorbed by `inner` (key ⊕ ipad included), for the length in the padding.
    private var innerLength = Self.blockSize

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
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: pendingCount + prefix.count) { joined in
            let base = joined.baseAddress!
            copyPending(to: base)
            if let source = prefix.baseAddress {
                (base + pendingCount).initialize(from: source.assumingMemoryBound(to: UInt8.self), count: prefix.count)
            }
            let total = pendingCount + prefix.count
            let whole = total & ~(Self.blockSize - 1)
            guard SHA256_Update(&key.inner, base, whole) == 1 else { fatalError("SHA-256 failed in libcrypto") }
            key.innerLength += whole
            key.pendingCount = total - whole
            withUnsafeMutableBytes(of: &key.pending) { pending in
                pending.copyMemory(from: UnsafeRawBufferPointer(start: base + whole, count: total - whole))
            }
        }
        return key
    }

    /// HMAC-SHA256 of `data` under this key (after the prefix it has absorbed, if any).
    func authenticate(_ data: UnsafeRawBufferPointer) -> Digest {
        let message = pendingCount + data.count
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: message + Crypto.paddingCapacity) { buffer in
            let base = buffer.baseAddress!
            copyPending(to: base)
            if let source = data.baseAddress {
                (base + pendingCount).initialize(from: source.assumingMemoryBound(to: UInt8.self), count: data.count)
            }
            let padded = Crypto.pad(base, count: message, length: innerLength + message)
            let innerDigest = Crypto.hashPadded(inner, UnsafeRawBufferPointer(start: base, count: padded))
            _ = Crypto.pad(base, count: 32, length: Self.blockSize + 32)
            return outerHash(outer, of: innerDigest, in: UnsafeMutableRawBufferPointer(start: base, count: 64))
        }
    }

    /// The prefix's pending bytes, written at `out`.
    private func copyPending(to out: UnsafeMutablePointer<UInt8>) {
        withUnsafeBytes(of: pending) { out.initialize(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: pendingCount) }
    }

    /// MACs under this key (after the prefix it has absorbed) of messages that are all `length`
    /// bytes long: their padded blocks are laid out once, so that each MAC only writes its message
    /// into a copy and hashes. At most 64 bytes (the hex of a hash, in SigV4's string to sign).
    func fixedLength(_ length: Int) -> FixedLengthMAC {
        precondition(length <= 64, "fixed-length HMAC messages are at most 64 bytes")
        var mac = FixedLengthMAC(inner: inner, outer: outer, messageOffset: pendingCount, messageLength: length)
        let message = pendingCount + length
        withUnsafeMutableBytes(of: &mac.innerBlocks) { blocks in
            let base = blocks.baseAddress!.assumingMemoryBound(to: UInt8.self)
            copyPending(to: base)
            mac.innerCount = Crypto.pad(base, count: message, length: innerLength + message)
        }
        withUnsafeMutableBytes(of: &mac.outerBlock) { block in
            _ = Crypto.pad(block.baseAddress!.assumingMemoryBound(to: UInt8.self), count: 32, length: Self.blockSize + 32)
        }
        return mac
    }

    func authenticate(_ text: String) -> Digest {
        var text = text
        return text.withUTF8 { authenticate(UnsafeRawBufferPointer($0)) }
    }
}

/// HMACs of messages of one length under one key and prefix (`HMACKey.fixedLength`): the inner
/// hash's last blocks and the outer hash's block, padded in advance, with a gap for the message
/// and for the inner digest. As sensitive as the key.
struct FixedLengthMAC: Sendable {
    fileprivate let inner: SHA256_CTX
    fileprivate let outer: SHA256_CTX
    /// The prefix's pending bytes, room for the message, and the padding: up to three blocks.
    fileprivate var innerBlocks = FixedLengthMAC.threeBlocks
    fileprivate var innerCount = 0
    /// Room for the 32-byte inner digest, then the padding.
    fileprivate var outerBlock = FixedLengthMAC.oneBlock
    fileprivate let messageOffset: Int
    let messageLength: Int

    fileprivate static let threeBlocks = (
        SIMD16<UInt64>(repeating: 0), SIMD8<UInt64>(repeating: 0)
    )
    fileprivate static let oneBlock = SIMD8<UInt64>(repeating: 0)

    fileprivate init(inner: SHA256_CTX, outer: SHA256_CTX, messageOffset: Int, messageLength: Int) {
        self.inner = inner
        self.outer = outer
        self.messageOffset = messageOffset
        self.messageLength = messageLength
    }

    /// The MAC of the `messageLength` bytes that `write` puts at the pointer it is given.
    @inline(__always)
    func authenticate(writingMessage write: (UnsafeMutablePointer<UInt8>) -> Void) -> Digest {
        var blocks = innerBlocks
        let innerDigest = withUnsafeMutableBytes(of: &blocks) { blocks in
            let base = blocks.baseAddress!.assumingMemoryBound(to: UInt8.self)
            write(base + messageOffset)
            return Crypto.hashPadded(inner, UnsafeRawBufferPointer(start: base, count: innerCount))
        }
        var block = outerBlock
        return withUnsafeMutableBytes(of: &block) { outerHash(outer, of: innerDigest, in: $0) }
    }
}

/// HMAC's outer hash: `outer` (after key ⊕ opad) over the 32-byte inner digest, in `block`, 64
/// bytes whose padding is already written.
@inline(__always)
private func outerHash(_ outer: SHA256_CTX, of innerDigest: Digest, in block: UnsafeMutableRawBufferPointer) -> Digest {
    innerDigest.withUnsafeBytes { block.copyMemory(from: $0) }
    let mac = Crypto.hashPadded(outer, UnsafeRawBufferPointer(block))
    // The message is public; the inner digest is the one key-dependent value left here.
    OPENSSL_cleanse(block.baseAddress, 32)
    return mac
}
