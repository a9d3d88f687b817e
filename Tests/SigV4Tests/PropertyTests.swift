import Testing

@testable import SigV4

/// A small seeded generator (SplitMix64), so that every failure names a reproducible case.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Sign-then-verify round trips over random keys, endpoints, credentials, parameters, expiries
/// and times; and single-byte changes to signed URLs that never verify.
@Suite struct PropertyTests {
    static let seeds: [UInt64] = [1, 2, 3, 0x5EED_CAFE]

    /// Pieces keys are made of: the characters that need care (`%`, `+`, space, `//`, reserved
    /// delimiters, controls) and 1- to 4-byte UTF-8 (é, 日, U+FFFD, astral 😀 and 𝄞).
    static let pieces: [String] = [
        "a", "Z", "0", "-", "_", ".", "~", "%", "%2F", "+", " ", "/", "//", "?", "#", "&", "=", ";", ":", "@", "!",
        "*", "'", "(", ")", "[", "]", "\t", "\n", "é", "e\u{301}", "日本", "\u{FFFD}", "😀", "𝄞", "..", "./",
    ]

    static func randomKey(_ rng: inout SeededGenerator) -> String {
        let limit =
            Bool.random(using: &rng) ? Int.random(in: 1...40, using: &rng) : Int.random(in: 1...1024, using: &rng)
        var key = ""
        var bytes = 0
        while true {
            var piece = pieces.randomElement(using: &rng)!
            if Int.random(in: 0..<8, using: &rng) == 0 {
                // Any scalar outside the surrogate range, including astral planes.
                let value =
                    Bool.random(using: &rng)
                    ? UInt32.random(in: 0x20...0xD7FF, using: &rng) : UInt32.random(in: 0xE000...0x10FFFF, using: &rng)
                piece = String(Unicode.Scalar(value)!)
            }
            if bytes + piece.utf8.count > limit { break }
            key += piece
            bytes += piece.utf8.count
        }
        return key.isEmpty ? "k" : key
    }

    struct Case {
        let signer: PresignSigner
        let verifier: PresignVerifier
        let request: PresignRequest
        let time: Int64
        let expectedPath: String
    }

    static func randomCase(_ rng: inout SeededGenerator) throws -> Case {
        let region = ["us-east-1", "eu-west-1", "ap-southeast-2"].randomElement(using: &rng)!
        let addressing = S3Endpoint.Addressing.allCases.randomElement(using: &rng)!
        let endpoint: S3Endpoint =
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: try .aws(region: region, addressing: addressing)
            case 1: try S3Endpoint(url: "http://127.0.0.1:9000", region: region, addressing: addressing)
            case 2: try S3Endpoint(url: "http://[::1]:8333/s3", region: region, addressing: addressing)
            case 3: try S3Endpoint(url: "https://s3.example.internal", region: region, addressing: addressing)
            default: try S3Endpoint(url: "http://localhost:80", region: region, addressing: addressing)
            }
        let credentials = Credentials(
            accessKeyId: "AKID\(Int.random(in: 0..<1000, using: &rng))", secretAccessKey: "secret/\(rng.next())",
            sessionToken: Bool.random(using: &rng) ? "tok/en+\(rng.next())==" : nil)
        let bucket = ["examplebucket", "my.dotted.bucket", "a-b-c", "b12"].randomElement(using: &rng)!
        var headers: [(name: String, value: String)] = []
        if Bool.random(using: &rng) { headers.append(("Content-Type", "text/plain;  charset=utf-8 ")) }
        if Bool.random(using: &rng) { headers.append(("x-amz-meta-owner", "u-\(rng.next() % 100)")) }
        // A name with token characters that URI encoding changes, in X-Amz-SignedHeaders.
        if Bool.random(using: &rng) { headers.append(("X-Amz-Meta-Star*Tick'", "v")) }
        var query: [(name: String, value: String)] = []
        if Bool.random(using: &rng) {
            query.append(("response-content-disposition", "attachment; filename=\"\(randomKey(&rng).prefix(10))\""))
        }
        if Bool.random(using: &rng) { query.append(("versionId", "v+1/\(rng.next() % 9)=")) }
        if Bool.random(using: &rng) { query.append(("x-id", "GetObject")) }
        let request = PresignRequest(
            method: S3Method.allCases.randomElement(using: &rng)!, bucket: bucket, key: randomKey(&rng),
            expires: Bool.random(using: &rng)
                ? Int64.random(in: 1...60, using: &rng) : Int64.random(in: 1...604_800, using: &rng),
            headers: headers, query: query)
        let time = Int64.random(in: 946_684_800...4_102_444_800, using: &rng)  // 2000..2100
        let virtual = endpoint.usesVirtualHosting(bucket: bucket)
        let verifier = PresignVerifier(secrets: [
            credentials.accessKeyId: AccessKeySecret(secretAccessKey: credentials.secretAccessKey, region: region)
        ])
        return Case(
            signer: try PresignSigner(credentials: credentials, endpoint: endpoint), verifier: verifier,
            request: request, time: time,
            expectedPath: endpoint.basePath + (virtual ? "" : "/" + bucket) + "/" + request.key)
    }

    static func verify(_ c: Case, _ url: PresignedURL, _ target: String? = nil, at: Int64) -> Verdict {
        let sent = Dictionary(uniqueKeysWithValues: c.request.headersToSend.map { ($0.name, $0.value) })
        return c.verifier.verify(
            method: c.request.method.rawValue, url: target ?? url.url, signedHost: url.signedHost,
            headers: { sent[$0] }, now: at)
    }

    @Test(arguments: seeds)
    func signThenVerifyRoundTrips(_ seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for iteration in 0..<150 {
            let c = try Self.randomCase(&rng)
            let url = try c.signer.presign(c.request, at: c.time)
            #expect(url.expiresAt == c.time + c.request.expires)
            let now = Int64.random(in: (c.time - 900)...url.expiresAt, using: &rng)
            guard case .valid(let verified) = Self.verify(c, url, at: now) else {
                Issue.record("seed \(seed) iteration \(iteration): \(Self.verify(c, url, at: now))")
                continue
            }
            #expect(verified.tokenId == url.tokenId)
            #expect(verified.expiresAt == url.expiresAt)
            #expect(verified.path == c.expectedPath, "seed \(seed) iteration \(iteration)")
            guard case .expired = Self.verify(c, url, at: url.expiresAt + 1) else {
                Issue.record("seed \(seed) iteration \(iteration): not expired after expiresAt")
                continue
            }
            #expect(
                Self.verify(c, url, at: c.time - 901)
                    == .badSignature("X-Amz-Date is more than 15 minutes in the future"))
        }
    }

    /// Flips one byte of the path or query to another printable ASCII byte. The scheme and host
    /// are skipped: the signed host comes from configuration, not from the URL, so they are not
    /// what is verified. The only other flip that keeps the URL's meaning is changing the case of
    /// a hex digit in a %XX escape (S3 decodes it to the same byte); those are counted, not tested.
    @Test(arguments: seeds)
    func flippedByteNeverVerifies(_ seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        var checked = 0
        var sameMeaning = 0
        for iteration in 0..<100 {
            let c = try Self.randomCase(&rng)
            let signed = try c.signer.presign(c.request, at: c.time)
            let bytes = Array(signed.url.utf8)
            let schemeEnd = signed.url.utf8.count - signed.url.drop { $0 != ":" }.utf8.count + 3
            let pathStart = bytes[schemeEnd...].firstIndex(of: UInt8(ascii: "/"))!
            for _ in 0..<20 {
                let position = Int.random(in: pathStart..<bytes.count, using: &rng)
                var replacement: UInt8
                repeat { replacement = UInt8.random(in: 0x20...0x7E, using: &rng) } while replacement == bytes[position]
                if Self.isSameEscapeDigit(bytes, position, replacement) {
                    sameMeaning += 1
                    continue
                }
                var flipped = bytes
                flipped[position] = replacement
                let url = String(decoding: flipped, as: UTF8.self)
                let verdict = Self.verify(c, signed, url, at: c.time)
                switch verdict {
                case .valid, .expired:
                    Issue.record("seed \(seed) iteration \(iteration): flip at \(position) to \(replacement) verifies")
                case .badSignature, .malformed:
                    checked += 1
                }
            }
        }
        #expect(checked >= 1900)
        #expect(sameMeaning < 100)
    }

    /// Whether `position` is a hex digit of a %XX escape and `replacement` the same digit in the
    /// other case.
    static func isSameEscapeDigit(_ bytes: [UInt8], _ position: Int, _ replacement: UInt8) -> Bool {
        let inEscape =
            (position >= 1 && bytes[position - 1] == UInt8(ascii: "%"))
            || (position >= 2 && bytes[position - 2] == UInt8(ascii: "%"))
        guard inEscape, let original = Hex.value(of: bytes[position]), let new = Hex.value(of: replacement) else {
            return false
        }
        return original == new
    }
}
