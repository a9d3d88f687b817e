import Testing

@testable import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// A request whose method, bucket, expiry and headers match a recent one's is written from that
/// one's shape (`URLShape`, cut on the shape's second sighting): the URL must be the one the full
/// path makes, byte for byte, whatever the key, the second or the day, and anything that differs
/// must not match.
@Suite struct URLShapeTests {
    static let vectors = Vector.all.filter { !$0.isQuirk }

    /// Each vector, signed again by the signer that cut its shape: the same URL, and with another
    /// key and on another day the URL a new signer makes.
    @Test(arguments: vectors)
    func shapedURLsAreTheFullPathsURLs(_ vector: Vector) throws {
        let endpoint = try vector.endpoint()
        let signer = try PresignSigner(credentials: vector.credentials, endpoint: endpoint)
        #expect(try signer.presign(vector.request, at: vector.time).url == vector.expected.url)
        #expect(signer.shapeCount == 0)
        #expect(try signer.presign(vector.request, at: vector.time).url == vector.expected.url)
        let shaped = vector.request.query.isEmpty
        #expect(signer.shapeCount == (shaped ? 1 : 0))
        #expect(try signer.presign(vector.request, at: vector.time).url == vector.expected.url)

        var other = vector.request
        other.key = "another/ké y%2F+" + vector.request.key.prefix(20)
        for time in [vector.time, vector.time + 1, vector.time + 3 * 86_400] {
            let fresh = try PresignSigner(credentials: vector.credentials, endpoint: endpoint)
            let expected = try fresh.presign(other, at: time)
            let url = try signer.presign(other, at: time)
            #expect(url.url == expected.url)
            #expect(url.signatureDigest == expected.signatureDigest)
            #expect(url.amzDate == expected.amzDate && url.expiresAt == expected.expiresAt)
        }
        #expect(signer.shapeCount == (shaped ? 1 : 0))
    }

    /// Requests drawn from a few shapes, with random keys and times, from one long-lived signer
    /// per endpoint and credentials (the shapes are used and replaced), against a new signer each.
    @Test(arguments: PropertyTests.seeds)
    func randomRequestsAgreeWithANewSigner(_ seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let region = "eu-west-1"
        let endpoints: [S3Endpoint] = [
            try .aws(region: region, addressing: .path), try .aws(region: region, addressing: .auto),
            try S3Endpoint(url: "http://[::1]:8333/s3", region: region, addressing: .virtual),
        ]
        let headerSets: [[(name: String, value: String)]] = [
            [], [("Content-Type", "image/jpeg")], [("content-type", "image/jpeg")], [("Content-Type", "image/png")],
            [("Content-Type", "text/plain;  charset=utf-8 "), ("x-amz-meta-owner", "u1")],
            [("x-amz-meta-owner", "u1"), ("Content-Type", "text/plain;  charset=utf-8 ")],
            [("Content-Length", "5"), ("X-Amz-Meta-Star*Tick'", "v")],
        ]
        for credentials in [
            Credentials(accessKeyId: "AKID1", secretAccessKey: "secret/1"),
            Credentials(accessKeyId: "AKID2", secretAccessKey: "secret/2", sessionToken: "tok/en+2=="),
        ] {
            for endpoint in endpoints {
                let signer = try PresignSigner(credentials: credentials, endpoint: endpoint)
                for _ in 0..<150 {
                    var request = PresignRequest(
                        method: S3Method.allCases.randomElement(using: &rng)!,
                        bucket: ["examplebucket", "my.dotted.bucket", "b12"].randomElement(using: &rng)!,
                        key: PropertyTests.randomKey(&rng), expires: [1, 3600, 604_800].randomElement(using: &rng)!,
                        headers: headerSets.randomElement(using: &rng)!)
                    if Int.random(in: 0..<8, using: &rng) == 0 { request.query = [("x-id", "GetObject")] }
                    let time = Int64.random(in: 1_700_000_000...1_700_000_000 + 5 * 86_400, using: &rng)
                    let fresh = try PresignSigner(credentials: credentials, endpoint: endpoint)
                    #expect(try signer.presign(request, at: time).url == fresh.presign(request, at: time).url)
                    #expect(signer.shapeCount <= SignerThreadState.shapeCapacity)
                }
            }
        }
    }

    /// Swift's String equality is Unicode canonical equivalence: a Kelvin sign (U+212A) equals a K.
    /// A shape must match bytes, or a header name or value S3 would never see would be signed as
    /// another: a new signer refuses both, and so must one holding the shape with K.
    @Test func matchesBytesNotCanonicallyEquivalentStrings() throws {
        #expect("\u{212A}" == "K")
        let signer = try PresignSigner(
            credentials: Credentials(accessKeyId: "AKID", secretAccessKey: "secret"), endpoint: .aws(region: "us-east-1"))
        let request = PresignRequest(
            method: .put, bucket: "examplebucket", key: "k", headers: [("X-Amz-Meta-K", "K")])
        for _ in 0..<2 { _ = try signer.presign(request, at: 1_700_000_000) }
        #expect(signer.shapeCount == 1)
        for headers in [[("X-Amz-Meta-\u{212A}", "K")], [("X-Amz-Meta-K", "\u{212A}")]] {
            var equivalent = request
            equivalent.headers = headers
            #expect(throws: SigV4Error.self) { try signer.presign(equivalent, at: 1_700_000_000) }
        }
    }

    /// Equal strings in other representations (a long one in its own storage, a copy) match.
    @Test func equalBytesInOtherStringsMatch() throws {
        let signer = try PresignSigner(
            credentials: Credentials(accessKeyId: "AKID", secretAccessKey: "secret"), endpoint: .aws(region: "us-east-1"))
        let long = "a-bucket-name-longer-than-fifteen-bytes"
        for _ in 0..<2 { _ = try signer.presign(PresignRequest(method: .get, bucket: long, key: "k1"), at: 1_700_000_000) }
        let copy = String(decoding: Array(long.utf8), as: UTF8.self)
        let url = try signer.presign(PresignRequest(method: .get, bucket: copy, key: "k2"), at: 1_700_000_000)
        #expect(signer.shapeCount == 1)
        #expect(url.url.hasPrefix("https://\(long).s3.amazonaws.com/k2?"))
    }

    /// The checks a shape does not fix still run on every request that matches one.
    @Test func requestsMatchingAShapeAreStillChecked() throws {
        let signer = try PresignSigner(
            credentials: Credentials(accessKeyId: "AKID", secretAccessKey: "secret", expiresAt: 1_700_003_600),
            endpoint: .aws(region: "us-east-1"))
        let request = PresignRequest(method: .get, bucket: "examplebucket", key: "k", expires: 60)
        for _ in 0..<2 { _ = try signer.presign(request, at: 1_700_000_000) }
        #expect(signer.shapeCount == 1)
        var empty = request
        empty.key = ""
        #expect(throws: SigV4Error.self) { try signer.presign(empty, at: 1_700_000_000) }
        #expect(throws: SigV4Error.self) { try signer.presign(request, at: 1_700_003_600) }
        #expect(throws: SigV4Error.self) { try signer.presign(request, at: 1_700_003_599) }
        #expect(throws: SigV4Error.self) { try signer.presign(request, at: -1) }
    }

    /// At most `SignerThreadState.shapeCapacity` shapes, the oldest replaced; none for headers too large to keep.
    @Test func shapesAreBounded() throws {
        let signer = try PresignSigner(
            credentials: Credentials(accessKeyId: "AKID", secretAccessKey: "secret"), endpoint: .aws(region: "us-east-1"))
        for expires in Int64(1)...20 {
            for key in ["k1", "k2"] {
                _ = try signer.presign(PresignRequest(method: .get, bucket: "b12", key: key, expires: expires), at: 1_700_000_000)
            }
        }
        #expect(signer.shapeCount == SignerThreadState.shapeCapacity)
        let large = PresignRequest(
            method: .put, bucket: "b12", key: "k", headers: [("x-amz-meta-big", String(repeating: "v", count: 5000))])
        let other = try PresignSigner(
            credentials: Credentials(accessKeyId: "AKID", secretAccessKey: "secret"), endpoint: .aws(region: "us-east-1"))
        let url = try other.presign(large, at: 1_700_000_000)
        #expect(try other.presign(large, at: 1_700_000_000).url == url.url)
        #expect(other.shapeCount == 0)
        #expect(try other.presign(large, at: 1_700_000_000).url == url.url)
    }

    /// A shape is kept from its second sighting among the thread's last `missCapacity` misses:
    /// shapes that alternate are kept, and shapes seen once each (a signed Content-Length that
    /// changes with every upload) never are.
    @Test func shapesAreKeptFromTheirSecondSighting() throws {
        let signer = try PresignSigner(
            credentials: Credentials(accessKeyId: "AKID", secretAccessKey: "secret"), endpoint: .aws(region: "us-east-1"))
        for length in 0..<50 {
            let request = PresignRequest(
                method: .put, bucket: "examplebucket", key: "upload/\(length)", headers: [("Content-Length", "\(length)")])
            _ = try signer.presign(request, at: 1_700_000_000)
        }
        #expect(signer.shapeCount == 0)
        let types = (0..<SignerThreadState.missCapacity).map { "type/\($0)" }
        for type in types + types {
            let request = PresignRequest(
                method: .put, bucket: "examplebucket", key: "k", headers: [("Content-Type", type)])
            _ = try signer.presign(request, at: 1_700_000_000)
        }
        #expect(signer.shapeCount == SignerThreadState.shapeCapacity)
    }

    /// A thread keeps state for `ThreadSignerStates.capacity` signers; using one more drops the
    /// state used longest ago, and that signer starts again from nothing, signing the same URLs.
    @Test func threadStatesAreBoundedPerThread() throws {
        let credentials = Credentials(accessKeyId: "AKID", secretAccessKey: "secret")
        let signers = try (0...ThreadSignerStates.capacity).map { _ in
            try PresignSigner(credentials: credentials, endpoint: .aws(region: "us-east-1"))
        }
        let request = PresignRequest(method: .get, bucket: "examplebucket", key: "k")
        let expected = try signers[0].presign(request, at: 1_700_000_000).url
        #expect(try signers[0].presign(request, at: 1_700_000_000).url == expected)
        #expect(signers[0].shapeCount == 1)
        for signer in signers.dropFirst() {
            #expect(try signer.presign(request, at: 1_700_000_000).url == expected)
        }
        #expect(signers[0].shapeCount == 0)
        for _ in 0..<3 { #expect(try signers[0].presign(request, at: 1_700_000_000).url == expected) }
        #expect(signers[0].shapeCount == 1)
    }

    /// A thread's states (and the stamps and shapes in them) are released when the thread exits.
    @Test func threadStatesAreReleasedWhenTheThreadExits() throws {
        final class Probe: @unchecked Sendable {
            let signer: PresignSigner
            weak var states: ThreadSignerStates?
            var url = ""
            init(_ signer: PresignSigner) { self.signer = signer }
        }
        let probe = Probe(
            try PresignSigner(
                credentials: Credentials(accessKeyId: "AKID", secretAccessKey: "secret"),
                endpoint: .aws(region: "us-east-1")))
        var thread = pthread_t()
        let context = Unmanaged.passRetained(probe).toOpaque()
        let created = pthread_create(
            &thread, nil,
            { context in
                let probe = Unmanaged<Probe>.fromOpaque(context!).takeRetainedValue()
                let request = PresignRequest(method: .get, bucket: "examplebucket", key: "k")
                probe.url = (try? probe.signer.presign(request, at: 1_700_000_000).url) ?? ""
                probe.states = ThreadSignerStates.current().takeUnretainedValue()
                return nil
            }, context)
        #expect(created == 0)
        #expect(pthread_join(thread, nil) == 0)
        #expect(probe.url.hasPrefix("https://examplebucket.s3.amazonaws.com/k?"))
        #expect(probe.states == nil)
    }

    /// Threads signing requests of several shapes with one signer, while the shapes are replaced,
    /// get the URLs a new signer makes.
    @Test func concurrentSigningAgrees() async throws {
        let credentials = Credentials(accessKeyId: "AKID", secretAccessKey: "secret")
        let endpoint = try S3Endpoint.aws(region: "us-east-1")
        let signer = try PresignSigner(credentials: credentials, endpoint: endpoint)
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for task in 0..<4 {
                group.addTask {
                    var mismatches = 0
                    for index in 0..<2000 {
                        let request = PresignRequest(
                            method: .put, bucket: "examplebucket", key: "t\(task)/\(index)",
                            expires: Int64(1 + index % 11), headers: [("Content-Type", "type/\(index % 3)")])
                        let time = Int64(1_700_000_000 + index / 100)
                        let fresh = try! PresignSigner(credentials: credentials, endpoint: endpoint)
                        if try! signer.presign(request, at: time).url != fresh.presign(request, at: time).url {
                            mismatches += 1
                        }
                    }
                    return mismatches
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}
