import Testing

@testable import SigV4

/// The checks that take eight bytes at a time against their one-byte-at-a-time rules: every byte
/// value at every position of inputs of every length from 1 to 20 (the last eight bytes overlap
/// the previous eight whenever the length is not a multiple of eight).
@Suite struct ByteLanesTests {
    static func eachVariant(of base: String, _ check: ([UInt8]) -> Void) {
        let bytes = Array(base.utf8)
        for length in 1...bytes.count {
            for position in 0..<length {
                for value in 0...255 {
                    var variant = Array(bytes[..<length])
                    variant[position] = UInt8(value)
                    check(variant)
                }
            }
        }
    }

    @Test func headerNames() {
        Self.eachVariant(of: "Content-Type-X-Amz-Me") { bytes in
            let expected = !bytes.isEmpty && bytes.allSatisfy(CanonicalHeaders.isTokenByte)
            let unreserved = bytes.allSatisfy { URIEncoding.isKept($0, keepSlash: false) }
            var lowered = [UInt8](repeating: 0, count: bytes.count)
            let kind = bytes.withUnsafeBufferPointer { name in
                lowered.withUnsafeMutableBufferPointer { CanonicalHeaders.lowercaseToken(name, to: $0.baseAddress!) }
            }
            #expect(kind == (expected ? (unreserved ? .unreserved : .token) : .notToken), "\(bytes)")
            if expected {
                #expect(lowered == Array(String(decoding: bytes, as: UTF8.self).lowercased().utf8), "\(bytes)")
            }
        }
    }

    @Test func headerValues() {
        Self.eachVariant(of: "image/jpeg; q=0.5\tab") { bytes in
            let valid = bytes.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 }
            #expect(bytes.withUnsafeBufferPointer(CanonicalHeaders.isValidValue) == valid, "\(bytes)")
            let whitespace = bytes.contains { $0 == 0x20 || $0 == 0x09 }
            #expect(bytes.withUnsafeBufferPointer(CanonicalHeaders.hasWhitespace) == whitespace, "\(bytes)")
            // The signer's one pass: the same verdict, and botocore's canonical form when valid.
            var written = [UInt8](repeating: 0, count: bytes.count)
            var count = 0
            let checked = bytes.withUnsafeBufferPointer { value in
                written.withUnsafeMutableBufferPointer { out in
                    var writer = ByteWriter(out)
                    defer { count = writer.count }
                    return writer.appendCheckedHeaderValue(value)
                }
            }
            #expect(checked == valid, "\(bytes)")
            if valid {
                let words = bytes.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map(Array.init)
                #expect(Array(written[..<count]) == Array(words.joined(separator: [0x20])), "\(bytes)")
            }
        }
    }
}
