/// The token id of PROTOCOL.md: base64url without padding of the first 16 bytes of SHA-256 of the
/// URL's X-Amz-Signature value (its 64 lowercase hex characters, as ASCII). 22 characters.
/// Anyone holding the URL can derive it; nobody can go from the id back to the URL.
package func tokenId(signatureHex: String) -> String {
    var hex = signatureHex
    return hex.withUTF8 { tokenId(hexBytes: UnsafeRawBufferPointer($0)) }
}

/// The token id of the URL whose signature is `signature`.
package func tokenId(signature: Digest) -> String {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { hex in
        signature.withUnsafeBytes { Hex.write($0, to: hex.baseAddress!) }
        return tokenId(hexBytes: UnsafeRawBufferPointer(hex))
    }
}

private let base64URLAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

func tokenId(hexBytes: UnsafeRawBufferPointer) -> String {
    let digest = Crypto.sha256(hexBytes)
    return String(unsafeUninitializedCapacity: 22) { out in
        digest.withUnsafeBytes { bytes in
            base64URLAlphabet.withUnsafeBufferPointer { alphabet in
                var o = 0
                var i = 0
                // 16 bytes: five full 3-byte groups (20 characters), then one byte (2 characters).
                while i < 15 {
                    let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                    out[o] = alphabet[Int(n >> 18 & 63)]
                    out[o + 1] = alphabet[Int(n >> 12 & 63)]
                    out[o + 2] = alphabet[Int(n >> 6 & 63)]
                    out[o + 3] = alphabet[Int(n & 63)]
                    o += 4
                    i += 3
                }
                let last = UInt32(bytes[15])
                out[20] = alphabet[Int(last >> 2)]
                out[21] = alphabet[Int(last << 4 & 63)]
            }
        }
        return 22
    }
}
