import Testing

@testable import SigV4

/// SPEC §2.2's byte classes, checked for every byte value against the SPEC's own wording.
@Suite struct URIEncodingTests {
    static let unreserved = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8))

    @Test func everyByteIsClassifiedAsTheSpecSays() {
        for value in 0...255 {
            let byte = UInt8(value)
            #expect(URIEncoding.isUnreserved(byte) == Self.unreserved.contains(byte), "byte \(value)")
            #expect(URIEncoding.isKept(byte, keepSlash: false) == Self.unreserved.contains(byte), "byte \(value)")
            let keptWithSlash = Self.unreserved.contains(byte) || byte == UInt8(ascii: "/")
            #expect(URIEncoding.isKept(byte, keepSlash: true) == keptWithSlash, "byte \(value)")
        }
    }

    @Test func encodesEveryOtherByteAsUppercasePercentHex() {
        let all = (0...255).map(UInt8.init)
        let encoded = String(decoding: URIEncoding.encode(all, keepSlash: false), as: UTF8.self)
        var expected = ""
        for byte in all {
            if Self.unreserved.contains(byte) {
                expected.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                expected += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        #expect(encoded == expected)
        #expect(URIEncoding.decode(Array(encoded.utf8)) == all)
    }

    /// The eight-bytes-at-once path against the byte-wise one: every byte value at every position
    /// of an otherwise kept run, in both modes, and runs of every length up to three chunks, kept
    /// or with one byte to encode at each position.
    @Test func chunkedEncodingAgreesWithByteWise() {
        func chunked(_ bytes: [UInt8], keepSlash: Bool) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 3 * bytes.count)
            let count = bytes.withUnsafeBufferPointer { source in
                out.withUnsafeMutableBufferPointer { URIEncoding.encode(source, keepSlash: keepSlash, to: $0.baseAddress!) }
            }
            return Array(out[..<count])
        }
        let run = Array("photos/2024-a_b.C~9".utf8)
        for keepSlash in [false, true] {
            for value in 0...255 {
                for position in run.indices {
                    var bytes = run
                    bytes[position] = UInt8(value)
                    #expect(
                        chunked(bytes, keepSlash: keepSlash) == URIEncoding.encode(bytes, keepSlash: keepSlash),
                        "byte \(value) at \(position), keepSlash \(keepSlash)")
                }
            }
            for length in 0...24 {
                let bytes = Array((run + run)[..<length])
                #expect(chunked(bytes, keepSlash: keepSlash) == URIEncoding.encode(bytes, keepSlash: keepSlash))
                // One encoded byte anywhere: before, inside or after the overlapping last eight.
                for position in 0..<length {
                    for value: UInt8 in [0x20, 0x2F, 0x25, 0xC3] {
                        var variant = bytes
                        variant[position] = value
                        #expect(
                            chunked(variant, keepSlash: keepSlash) == URIEncoding.encode(variant, keepSlash: keepSlash),
                            "byte \(value) at \(position) of \(length), keepSlash \(keepSlash)")
                    }
                }
            }
        }
    }
}
