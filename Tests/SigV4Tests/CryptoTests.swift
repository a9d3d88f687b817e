import COpenSSL
import Testing

@testable import SigV4

/// HMAC-SHA256 (with a kept HMACKey) and SHA-256 through libcrypto.
@Suite struct CryptoTests {
    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map {
            Hex.value(of: digits[$0])! << 4 | Hex.value(of: digits[$0 + 1])!
        }
    }

    static func hmac(_ key: [UInt8], _ data: [UInt8]) -> String {
        key.withUnsafeBytes { key in data.withUnsafeBytes { Crypto.hmac(key: key, $0).hex } }
    }

    /// RFC 4231 §4 test cases (case 5 checks the first 128 bits, as the RFC truncates it).
    static let rfc4231: [(key: [UInt8], data: [UInt8], mac: String)] = [
        (
            [UInt8](repeating: 0x0B, count: 20), Array("Hi There".utf8),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        (
            [UInt8](repeating: 0xAA, count: 20), [UInt8](repeating: 0xDD, count: 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        ),
        (
            Array(1...25), [UInt8](repeating: 0xCD, count: 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        ([UInt8](repeating: 0x0C, count: 20), Array("Test With Truncation".utf8), "a3b6167473100ee06e0c796c2955552b"),
        (
            [UInt8](repeating: 0xAA, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            [UInt8](repeating: 0xAA, count: 131),
            Array(
                ("This is a test using a larger than block-size key and a larger than block-size data."
                    + " The key needs to be hashed before being used by the HMAC algorithm.").utf8),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ]

    @Test(arguments: 0..<rfc4231.count)
    func rfc4231Case(_ index: Int) {
        let (key, data, mac) = Self.rfc4231[index]
        #expect(Self.hmac(key, data).hasPrefix(mac))
    }

    /// The kept context is re-keyed only when the key changes: alternating keys, repeating a key,
    /// and a key that is a prefix of the previous one must all give fresh, correct MACs.
    @Test func rekeyingAndReuseGiveIndependentResults() {
        for _ in 0..<3 {
            for (key, data, mac) in Self.rfc4231 {
                #expect(Self.hmac(key, data).hasPrefix(mac))
                #expect(Self.hmac(key, data).hasPrefix(mac))
            }
        }
        #expect(Self.hmac(Array("Jefe".utf8), []) != Self.hmac(Array("Jef".utf8), []))
    }

    /// Each thread has its own contexts; many threads at once still compute the right MACs.
    @Test func concurrentThreadsAgree() async {
        let results = await withTaskGroup(of: Bool.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var ok = true
                    for round in 0..<500 {
                        let (key, data, mac) = Self.rfc4231[(worker + round) % Self.rfc4231.count]
                        ok = ok && Self.hmac(key, data).hasPrefix(mac)
                    }
                    return ok
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 8))
    }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ])
    func sha256(_ input: String, _ digest: String) {
        #expect(Array(input.utf8).withUnsafeBytes { Crypto.sha256($0).hex } == digest)
    }

    /// The padding presignd writes itself (`Crypto.pad`) against libcrypto's own one-shot SHA-256
    /// and HMAC, for every message length around the block boundaries: 55/56 bytes is where the
    /// length stops fitting in the last block, and a prefix absorbed into a key leaves 0 to 63
    /// bytes pending before the message.
    @Test func paddingMatchesLibcryptoAtEveryBoundary() {
        let material = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 167 &+ 13) }
        let key = Array("AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".utf8)
        let hmacKey = key.withUnsafeBytes { HMACKey($0) }
        for length in 0...200 {
            let message = Array(material[..<length])
            var reference = [UInt8](repeating: 0, count: 32)
            _ = SHA256(message, message.count, &reference)
            var padded = message + [UInt8](repeating: 0xEE, count: Crypto.paddingCapacity)
            let digest = padded.withUnsafeMutableBufferPointer {
                Crypto.sha256(paddingInPlace: $0.baseAddress!, count: length)
            }
            #expect(digest.withUnsafeBytes(Array.init) == reference, "SHA-256 of \(length) bytes")
            #expect(message.withUnsafeBytes { Crypto.sha256($0) } == digest)
        }
        for prefixLength in [0, 1, 5, 55, 56, 63, 64, 65, 69, 119, 120, 127, 128, 150] {
            let prefix = Array(material[..<prefixLength])
            let keyed = prefix.withUnsafeBytes { hmacKey.absorbing($0) }
            for length in [0, 1, 32, 50, 55, 56, 63, 64, 65, 100, 128, 150] {
                let message = Array(material[300 - length..<300])
                let whole = prefix + message
                var reference = [UInt8](repeating: 0, count: 32)
                var size: UInt32 = 0
                _ = HMAC(EVP_sha256(), key, Int32(key.count), whole, whole.count, &reference, &size)
                let mac = message.withUnsafeBytes { keyed.authenticate($0) }
                #expect(mac.withUnsafeBytes(Array.init) == reference, "HMAC of \(prefixLength) + \(length) bytes")
                if (1...64).contains(length) {
                    let fixed = keyed.fixedLength(length).authenticate { out in
                        message.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: length) }
                    }
                    #expect(fixed == mac, "fixed-length HMAC of \(prefixLength) + \(length) bytes")
                }
            }
        }
    }

    @Test func initialStateIsSHA256Init() {
        var context = SHA256_CTX()
        #expect(SHA256_Init(&context) == 1)
        var expected = context
        var written = Crypto.initialState
        #expect(withUnsafeBytes(of: &expected, Array.init) == withUnsafeBytes(of: &written, Array.init))
    }

    /// SPEC §3: the signing key of the AWS documentation example.
    @Test func signingKeyOfSpecExample() {
        let key = SigningKeyCache.derive(
            secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", date: AmzDate("20130524T000000Z")!, region: "us-east-1")
        #expect(key.hex == "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378")
    }

    /// The cache keys by (secret, day, region): another day, region or secret gives another key,
    /// and a later second of the same day the same key.
    @Test func signingKeyCacheKeysByDayRegionAndSecret() {
        let cache = SigningKeyCache(capacity: 2)
        let day = AmzDate("20130524T000000Z")!
        let a = cache.key(secret: "s1", date: day, region: "us-east-1").digest
        #expect(cache.key(secret: "s1", date: AmzDate("20130524T235959Z")!, region: "us-east-1").digest == a)
        #expect(cache.key(secret: "s1", date: AmzDate("20130525T000000Z")!, region: "us-east-1").digest != a)
        #expect(cache.key(secret: "s2", date: day, region: "us-east-1").digest != a)
        #expect(cache.key(secret: "s1", date: day, region: "eu-west-1").digest != a)
        #expect(
            cache.key(secret: "s1", date: day, region: "us-east-1").digest
                == SigningKeyCache.derive(secret: "s1", date: day, region: "us-east-1"))
        // Secrets are matched by their bytes, not by Swift's String equality, under which a
        // Kelvin sign (U+212A) equals a K: a verifier may hold both.
        #expect(cache.key(secret: "s\u{212A}", date: day, region: "us-east-1").digest
            == SigningKeyCache.derive(secret: "s\u{212A}", date: day, region: "us-east-1"))
        #expect(cache.key(secret: "sK", date: day, region: "us-east-1").digest
            == SigningKeyCache.derive(secret: "sK", date: day, region: "us-east-1"))
    }

    /// `Hex.write` (which the compiler vectorises) writes what formatting each byte alone writes:
    /// every byte value at each of four places, and every length up to 40.
    @Test func hexOfEveryByteAtEveryPlaceAndLength() {
        func hex(_ bytes: [UInt8]) -> String {
            String(unsafeUninitializedCapacity: 2 * bytes.count) { out in
                bytes.withUnsafeBytes { Hex.write($0, to: out.baseAddress!) }
                return 2 * bytes.count
            }
        }
        func expected(_ bytes: [UInt8]) -> String {
            bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
        for value in 0...255 {
            for place in 0..<4 {
                var bytes: [UInt8] = [0x5A, 0xA5, 0x0F, 0xF0]
                bytes[place] = UInt8(value)
                #expect(hex(bytes) == expected(bytes), "byte \(value) at \(place)")
            }
        }
        var rng = SystemRandomNumberGenerator()
        for count in 0...40 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(hex(bytes) == expected(bytes), "\(bytes)")
        }
    }

    /// PROTOCOL.md token id of the AWS documentation signature (computed independently with Python's
    /// hashlib and base64).
    @Test func tokenIdOfKnownSignature() {
        let id = tokenId(signatureHex: "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        #expect(id == "1Bk2jHlwYX2JDqORAYK8Ww")
    }

    @Test(arguments: [
        ("19700101T000000Z", Int64(0)), ("20130524T000000Z", 1_369_353_600), ("20240229T235959Z", 1_709_251_199),
        ("99991231T235959Z", 253_402_300_799),
    ])
    func amzDateRoundTrips(_ text: String, _ seconds: Int64) {
        #expect(AmzDate(text)?.unixSeconds == seconds)
        #expect(AmzDate(unixSeconds: seconds)?.description == text)
    }

    @Test(arguments: [
        "", "20130524T000000", "20130524 000000Z", "20130230T000000Z", "20230229T000000Z", "20131324T000000Z",
        "20130524T240000Z", "20130524T006000Z", "20130524T000060Z", "2013052AT000000Z", "19691231T235959Z",
        "+0130524T000000Z",
    ])
    func amzDateRejects(_ text: String) {
        #expect(AmzDate(text) == nil)
    }
}
