import ArgumentParser

/// `presignctl revoke`: revoke one token, every token of an object, or every token with a tag.
package struct RevokeCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a token, every token of an object, or every token with a tag (needs the admin role).",
        discussion: """
            Revoked URLs are denied (REVOKED) from then on, and a revocation event is sent to \
            `watch`ers. Revoking a token that is not active is not an error: it prints so and exits 0.

            EXAMPLES
              presignctl revoke 3q2-7wEjRkuWcnpVtaSfNg
              presignctl revoke --object reports q3.pdf
              presignctl revoke --tag customer-42 --reason "contract ended"
            """)

    @Argument(help: ArgumentHelp("A token id or URL; with --object, the bucket and key.", valueName: "target"))
    var targets: [String] = []
    @Flag(help: "Revoke every token of the object <bucket> <key> given as arguments.")
    var object = false
    @Option(help: ArgumentHelp("Revoke every token issued with this tag.", valueName: "tag"))
    var tag: String?
    @Option(help: ArgumentHelp("Why, for the events and the audit trail (at most 256 bytes).", valueName: "text"))
    var reason: String?

    @OptionGroup var connection: ConnectionOptions

    package init() {}

    package func validate() throws {
        switch (object, tag, targets.count) {
        case (false, nil, 1), (true, nil, 2), (false, .some, 0): return
        case (true, .some, _): throw ValidationError("give --object or --tag, not both")
        case (true, nil, _): throw ValidationError("--object takes two arguments: <bucket> <key>")
        case (false, .some, _): throw ValidationError("--tag takes no other argument")
        case (false, nil, _): throw ValidationError("give one <target>, --object <bucket> <key>, or --tag <tag>")
        }
    }

    /// The `REVOKE` request these arguments stand for.
    package var request: [String] {
        var request = ["REVOKE"]
        if object {
            request += ["OBJECT"] + targets
        } else if let tag {
            request += ["TAG", tag]
        } else {
            request += targets
        }
        if let reason { request += ["REASON", reason] }
        return request
    }

    package func run() async throws {
        let request = self.request
        let single = !object && tag == nil
        let json = connection.json
        try await AdminConnection.run(connection) { connection throws(AdminFailure) in
            try AdminOutput.revoked(try await connection.send(request, name: "REVOKE"), single: single, json: json)
        }
    }
}
