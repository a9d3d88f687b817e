import ArgumentParser
import SigV4

/// `presignd verify`: checks a presigned URL against the credentials in the environment and
/// prints the verdict and the token id. Exit status 0 only for a valid URL, 1 for any denial
/// (expired, bad signature, malformed), 64 for usage errors (ArgumentParser's EX_USAGE).
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a presigned S3 URL (secret from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).")

    @Argument(help: "The HTTP method the URL is used with.") var method: String
    @Argument(help: "Absolute http(s) URL, or origin-form /path?query (then --signed-host is required).")
    var url: String
    @Option(help: "The host the URL was signed for, e.g. 127.0.0.1:9000 (default: the URL's own host).")
    var signedHost: String?
    @Option(help: "Region of the access key (default: the region the URL's credential scope names).")
    var region: String?
    @Option(
        name: .customLong("header"), help: "A signed header's value as the client sends it, NAME=VALUE (repeatable).")
    var headers: [NameValue] = []
    @Option(help: "Verification time, yyyyMMddTHHmmssZ (default: now).") var at: String?

    func run() throws {
        let credentials = try CommandEnvironment.credentials()
        let now = try CommandEnvironment.time(at)
        let host = try signedHost ?? Self.host(of: url)
        // The URL says its region; the signature is what is checked, with the secret.
        let scopeRegion = PresignVerifier.Parsed(url).scopeRegion
        let secret = AccessKeySecret(
            secretAccessKey: credentials.secretAccessKey,
            region: region ?? scopeRegion ?? CommandEnvironment.region(nil))
        let verifier = PresignVerifier(secrets: [credentials.accessKeyId: secret])
        // A header given twice is one value joined by commas, as SigV4 (and S3) read it.
        var values: [String: String] = [:]
        for header in headers {
            let name = header.name.lowercased()
            values[name] = values[name].map { $0 + "," + header.value } ?? header.value
        }
        let verdict = verifier.verify(method: method, url: url, signedHost: host, headers: { values[$0] }, now: now)
        switch verdict {
        case .valid(let verified):
            print("valid token_id=\(verified.tokenId) expires_at=\(verified.expiresAt)")
        case .expired(let verified):
            print("expired token_id=\(verified.tokenId) expires_at=\(verified.expiresAt)")
            throw ExitCode.failure
        case .badSignature(let reason):
            print("bad_signature: \(reason)")
            throw ExitCode.failure
        case .malformed(let reason):
            print("malformed: \(reason)")
            throw ExitCode.failure
        }
    }

    /// The canonical host of an absolute URL: lower case, default port dropped.
    static func host(of url: String) throws -> String {
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw ValidationError("--signed-host is required for an origin-form URL")
        }
        let authorityEnd = url[schemeEnd.upperBound...].firstIndex { $0 == "/" || $0 == "?" } ?? url.endIndex
        do {
            return try S3Endpoint(url: String(url[..<authorityEnd]), region: "us-east-1").hostHeader
        } catch {
            throw ValidationError("the URL's host is not valid")
        }
    }
}
