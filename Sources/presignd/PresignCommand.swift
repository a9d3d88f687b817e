import ArgumentParser
import SigV4

/// `presignd presign`: prints one presigned URL on stdout, like `aws s3 presign` but for any
/// method, with signed headers and parameters. Headers the client must send go to stderr.
struct PresignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presign",
        abstract:
            "Print a presigned S3 URL (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).")

    @Argument(help: "GET, PUT, HEAD or DELETE.") var method: String
    @Argument var bucket: String
    @Argument var key: String
    @Option(help: "Lifetime in seconds, 1..604800.") var expires: Int64 = 3600
    @Option(help: "Region (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1).") var region: String?
    @Option(help: "S3-compatible endpoint, e.g. http://127.0.0.1:9000 (default: the AWS regional endpoint).")
    var endpoint: String?
    @Option(help: "auto, path or virtual.") var addressing: String = "auto"
    @Option(help: "Content-Type to sign (the client must send it).") var contentType: String?
    @Option(name: .customLong("header"), help: "Another header to sign, NAME=VALUE (repeatable).")
    var headers: [NameValue] = []
    @Option(name: .customLong("param"), help: "A signed query parameter, NAME=VALUE (repeatable, kept in order).")
    var params: [NameValue] = []
    @Option(help: "Signing time, yyyyMMddTHHmmssZ (default: now).") var at: String?

    func run() throws {
        guard let style = S3Endpoint.Addressing(rawValue: addressing) else {
            throw ValidationError("--addressing must be auto, path or virtual")
        }
        let time = try CommandEnvironment.time(at)
        let region = CommandEnvironment.region(region)
        do {
            let target =
                try endpoint.map { try S3Endpoint(url: $0, region: region, addressing: style) }
                ?? S3Endpoint.aws(region: region, addressing: style)
            let signer = try PresignSigner(credentials: try CommandEnvironment.credentials(), endpoint: target)
            var signed: [(name: String, value: String)] = contentType.map { [("Content-Type", $0)] } ?? []
            signed += headers.map { ($0.name, $0.value) }
            let request = PresignRequest(
                method: try S3Method(validating: method), bucket: bucket, key: key, expires: expires, headers: signed,
                query: params.map { ($0.name, $0.value) })
            let url = try signer.presign(request, at: time)
            print(url.url)
            for header in request.headersToSend {
                FileOutput.standardError.write("send header: \(header.name): \(header.value)\n")
            }
        } catch let error as SigV4Error {
            throw ValidationError(error.message)
        }
    }
}
