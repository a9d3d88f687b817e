import SigV4

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Presigned URLs per second on one thread, with the inputs `bench/botocore_presign.py` uses:
/// a GET, path style, a 30-byte key, no extra parameters; and a PUT with a signed Content-Type.
/// These make the URL alone, as botocore's `generate_presigned_url` does; `get_path_token_id` also
/// derives each URL's token id, as the broker's ISSUE does (one more SHA-256); `put_varied_type`
/// gives each PUT another Content-Type, so that no URL is made from a kept shape.
///
/// With `--serve` it reads `<case> <seconds>` lines and answers each with that case's result line,
/// so that `bench/sign` can alternate it with botocore in short, adjacent turns.
struct SignBenchmark {
    var seconds = 3.0
    /// Only the case of this name (for profiling one case), or every case.
    var only: String?
    var serve = false

    init(arguments: [String]) throws {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--seconds":
                guard let value = rest.popFirst().flatMap(Double.init), value > 0 else { PresignBench.usage() }
                seconds = value
            case "--only":
                guard let name = rest.popFirst() else { PresignBench.usage() }
                only = name
            case "--serve":
                serve = true
            default:
                PresignBench.usage()
            }
        }
    }

    static let cases = ["get_path", "put_content_type", "put_varied_type", "get_path_token_id", "verify_get_path"]

    /// 1,024 distinct 30-byte keys, so that no result can be reused between iterations.
    static let keys: [String] = (0..<1024).map { index in
        let digits = String(index % 1000)
        return "users/42/avatars/photo-" + String(repeating: "0", count: 3 - digits.count) + digits + ".jpg"
    }

    func run() throws {
        guard serve else { return try runCases() }
        while let line = readLine() {
            let words = line.split(separator: " ")
            guard words.count == 2, Self.cases.contains(String(words[0])), let seconds = Double(words[1]), seconds > 0
            else {
                throw PresignBenchError(message: "expected `<case> <seconds>`, got \(line)")
            }
            var turn = self
            turn.only = String(words[0])
            turn.seconds = seconds
            try turn.runCases()
            fflush(nil)  // every output stream: the answer must reach the pipe now
        }
    }

    private func runCases() throws {
        precondition(Self.keys.allSatisfy { $0.utf8.count == 30 })
        let signer = try PresignSigner(
            credentials: Credentials(
                accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            endpoint: .aws(region: "eu-west-1", addressing: .path))
        let at: Int64 = 1_784_118_896
        try measure("get_path", signer: signer, at: at) { key in
            PresignRequest(method: .get, bucket: "examplebucket", key: key, expires: 3600)
        }
        try measure("put_content_type", signer: signer, at: at) { key in
            PresignRequest(
                method: .put, bucket: "examplebucket", key: key, expires: 3600,
                headers: [("Content-Type", "image/jpeg")])
        }
        // A different Content-Type for each of the 1,024 keys: more shapes than a thread keeps, so
        // every URL takes the full path (and cuts a shape that is never used).
        try measure("put_varied_type", signer: signer, at: at) { key in
            PresignRequest(
                method: .put, bucket: "examplebucket", key: key, expires: 3600,
                headers: [("Content-Type", "image/x-" + key.dropFirst(23).prefix(3))])
        }
        try measure("get_path_token_id", signer: signer, at: at, tokenId: true) { key in
            PresignRequest(method: .get, bucket: "examplebucket", key: key, expires: 3600)
        }
        try measureVerification(signer: signer, at: at)
    }

    /// Verifications per second of the GET URLs above in origin form (`/bucket/key?…`), as a
    /// gateway presents them: what the HTTP authorize endpoint and CONSUME by URL do before Redis.
    private func measureVerification(signer: PresignSigner, at: Int64) throws {
        let name = "verify_get_path"
        if let only, only != name { return }
        let verifier = PresignVerifier(secrets: [
            signer.credentials.accessKeyId: AccessKeySecret(
                secretAccessKey: signer.credentials.secretAccessKey, region: signer.endpoint.region)
        ])
        var signedHost = ""
        let urls = try Self.keys.map { key in
            let signed = try signer.presign(PresignRequest(method: .get, bucket: "examplebucket", key: key), at: at)
            signedHost = signed.signedHost
            let afterScheme = signed.url.firstRange(of: "://")!.upperBound
            return String(signed.url[signed.url[afterScheme...].firstIndex(of: "/")!...])
        }
        for url in urls {
            guard case .valid = verifier.verify(method: "GET", url: url, signedHost: signedHost, now: at) else {
                throw PresignBenchError(message: "a signed URL does not verify")
            }
        }
        try timed(name, rounds: urls.count) { index in
            guard case .valid(let verified) = verifier.verify(method: "GET", url: urls[index], signedHost: signedHost, now: at)
            else { return 0 }
            return verified.tokenId.utf8.count
        }
    }

    private func measure(
        _ name: String, signer: PresignSigner, at: Int64, tokenId: Bool = false,
        _ makeRequest: (String) -> PresignRequest
    ) throws {
        if let only, only != name { return }
        let requests = Self.keys.map(makeRequest)
        // Warm-up: thread contexts, key cache, page faults.
        for request in requests { _ = try signer.presign(request, at: at) }
        try timed(name, rounds: requests.count) { index in
            let url = try signer.presign(requests[index], at: at)
            return url.url.utf8.count &+ (tokenId ? url.tokenId.utf8.count : 0)
        }
    }

    /// Runs `body` for 0..<rounds again and again for `seconds`, then prints the rate. What `body`
    /// returns goes into a checksum, so that the work cannot be optimised away.
    private func timed(_ name: String, rounds: Int, _ body: (Int) throws -> Int) throws {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        var count = 0
        var checksum = 0
        while clock.now < deadline {
            for index in 0..<rounds { checksum &+= try body(index) }
            count += rounds
        }
        let elapsed = start.duration(to: clock.now)
        let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(count) / elapsedSeconds
        print(
            "sign.\(name) urls_per_s=\(Int(rate)) ns_per_url=\(Int(1e9 / rate)) urls=\(count) checksum=\(checksum)")
    }
}
