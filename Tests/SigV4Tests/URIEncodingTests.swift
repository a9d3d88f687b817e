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
}
