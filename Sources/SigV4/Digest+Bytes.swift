/// SHA-256 and constant-time comparison for other modules (client secrets, object-set names),
/// on the same libcrypto calls as signing.
extension Digest {
    /// SHA-256 of `bytes`.
    package static func sha256(_ bytes: [UInt8]) -> Digest {
        bytes.withUnsafeBytes { Crypto.sha256($0) }
    }

    /// The 32 bytes.
    package var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }
}

/// SHA-256 of `bytes`, as 32 bytes.
package func sha256(_ bytes: [UInt8]) -> [UInt8] {
    Digest.sha256(bytes).bytes
}

/// Whether `a` and `b` are equal, in time that depends only on their length.
package func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { a in b.withUnsafeBytes { b in Crypto.constantTimeEqual(a, b) } }
}
