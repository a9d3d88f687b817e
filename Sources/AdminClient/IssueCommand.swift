import ArgumentParser
import Wire

/// `presignctl issue`: presign a URL and register its token.
package struct IssueCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Presign a URL for one S3 request and register it as a token (needs the issue role).",
        discussion: """
            Prints the token id, the URL, its method, expiry and uses, and each header the caller \
            must send with the URL (e.g. a signed Content-Type).

            EXAMPLES
              presignctl issue GET reports q3.pdf --ttl 600 --uses 3
              presignctl issue PUT uploads users/7/avatar.png --content-type image/png --tag user-7
            """)

    @Argument(help: "The HTTP method the URL is for: GET, PUT, HEAD, DELETE, …")
    var method: String
    @Argument(help: "The bucket.")
    var bucket: String
    @Argument(help: "The object key.")
    var key: String

    @Option(help: ArgumentHelp("Lifetime in seconds (presignd's default: 900).", valueName: "seconds"))
    var ttl: Int?
    @Option(help: ArgumentHelp("How many times the URL may be used (default: 1).", valueName: "n"))
    var uses: Int?
    @Option(help: ArgumentHelp("Content-Type the upload must send (signed into the URL).", valueName: "type"))
    var contentType: String?
    @Option(help: ArgumentHelp("Content-Length the upload must send (signed into the URL).", valueName: "bytes"))
    var contentLength: Int?
    @Option(help: ArgumentHelp("A tag for `revoke --tag`; repeatable.", valueName: "tag"))
    var tag: [String] = []
    @Option(help: ArgumentHelp("An extra signed query parameter, NAME=VALUE; repeatable.", valueName: "name=value"))
    var param: [String] = []
    @Option(help: ArgumentHelp("The S3 profile (credentials and endpoint) to sign with.", valueName: "name"))
    var profile: String?

    @OptionGroup var connection: ConnectionOptions

    package init() {}

    package func validate() throws {
        for pair in param where CommandLineArguments.nameValue(pair) == nil {
            throw ValidationError("--param takes NAME=VALUE, got '\(pair)'")
        }
    }

    /// The `ISSUE` request these arguments stand for.
    package var request: [String] {
        var request = ["ISSUE", method.uppercased(), bucket, key]
        if let ttl { request += ["TTL", String(ttl)] }
        if let uses { request += ["USES", String(uses)] }
        if let contentType { request += ["CONTENT-TYPE", contentType] }
        if let contentLength { request += ["CONTENT-LENGTH", String(contentLength)] }
        for tag in tag { request += ["TAG", tag] }
        for pair in param {
            let (name, value) = CommandLineArguments.nameValue(pair)!  // checked by validate()
            request += ["PARAM", name, value]
        }
        if let profile { request += ["PROFILE", profile] }
        return request
    }

    package func run() async throws {
        let request = self.request
        let json = connection.json
        try await AdminConnection.run(connection) { connection throws(AdminFailure) in
            try AdminOutput.issued(try await connection.send(request, name: "ISSUE"), json: json)
        }
    }
}
