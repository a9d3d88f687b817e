import ArgumentParser
import Foundation
import Wire

/// `presignctl`: the admin CLI of presignd.
package struct Presignctl: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "presignctl",
        abstract: "Issue, check, consume and revoke presigned S3 URLs on a presignd daemon, and watch revocations.",
        discussion: """
            presignctl talks to presignd's line protocol (RESP, like redis-cli) at 127.0.0.1:7379 by \
            default. Authenticate as a configured client with --client-id and the secret in \
            PRESIGND_SECRET or --secret-file; an open listener (presignd dev) needs neither.

            A <target> is a token id (22 characters, printed by `issue`) or the presigned URL itself.

            ENVIRONMENT
              PRESIGND_CLIENT_ID  client id, when --client-id is not given
              PRESIGND_SECRET     the secret, when --secret/--secret-file are not

            EXIT CODES
              0  ok: the command succeeded (use allowed, URL issued, ...)
              1  denied: a denial code (USED, RESERVED, REVOKED, EXPIRED,
                 UNKNOWN, MISMATCH, BADSIG, NOAUTH, WRONGPASS, NOPERM),
                 or `check` of a token that is not active
              2  error: bad usage, presignd unreachable, UNAVAILABLE, ERR

            EXAMPLES
              presignctl issue GET reports q3.pdf --ttl 600
              presignctl check 3q2-7wEjRkuWcnpVtaSfNg
              PRESIGND_CLIENT_ID=ops PRESIGND_SECRET=... \\
                presignctl revoke --tag customer-42
            """,
        version: Release.version,
        subcommands: [
            IssueCommand.self, ConsumeCommand.self, CheckCommand.self, RevokeCommand.self, WatchCommand.self,
            StatsCommand.self,
        ])

    package init() {}

    /// Parses `arguments`, runs the command and returns the exit status: unlike ArgumentParser's
    /// default (64 for usage errors), every usage error is 2, as the help promises.
    /// A token id is 22 base64url characters and one in 64 starts with `-`, which the argument
    /// parser would take for an option. Such an id is moved behind `--`, where it is positional.
    package static func protectingTokenIDs(_ arguments: [String]) -> [String] {
        guard !arguments.contains("--"),
            let index = arguments.indices.dropFirst().first(where: { isDashedTokenID(arguments[$0]) })
        else { return arguments }
        var rest = arguments
        let id = rest.remove(at: index)
        return rest + ["--", id]
    }

    static func isDashedTokenID(_ text: String) -> Bool {
        text.utf8.count == 22 && text.hasPrefix("-")
            && text.utf8.allSatisfy { byte in
                (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
                    || byte == 0x2d || byte == 0x5f
            }
    }

    package static func run(arguments: [String]) async -> Int32 {
        do {
            var command = try parseAsRoot(Self.protectingTokenIDs(arguments))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return AdminExitStatus.ok.rawValue
        } catch let failure as AdminFailure {
            let line = AdminOutput.failure(failure, json: arguments.contains("--json"))
            if arguments.contains("--json") { AdminOutput.emit(line) } else { AdminOutput.emitError(line) }
            return failure.status.rawValue
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                AdminOutput.emit(message)
                return AdminExitStatus.ok.rawValue
            }
            if !message.isEmpty { AdminOutput.emitError(message) }
            return code == ExitCode(AdminExitStatus.denied.rawValue)
                ? AdminExitStatus.denied.rawValue : AdminExitStatus.error.rawValue
        }
    }
}
