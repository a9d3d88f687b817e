import ArgumentParser
import Foundation
import Redis

/// Where presignd listens and who we are, shared by every subcommand.
package struct ConnectionOptions: ParsableArguments, Sendable {
    @Option(help: "presignd's host.")
    package var host: String = "127.0.0.1"

    @Option(help: "presignd's TCP port.")
    package var port: Int = 7379

    @Option(help: ArgumentHelp("presignd's Unix socket (instead of --host/--port).", valueName: "path"))
    package var socket: String?

    @Option(
        help: ArgumentHelp(
            "Client id to AUTH as (default: $PRESIGND_CLIENT_ID; none on an open listener).", valueName: "id"))
    package var clientId: String?

    @Option(
        help: ArgumentHelp(
            "The client's secret. Visible in `ps`: prefer $PRESIGND_SECRET or --secret-file.", valueName: "secret"))
    package var secret: String?

    @Option(help: ArgumentHelp("A file holding the client's secret (one line).", valueName: "path"))
    package var secretFile: String?

    @Flag(help: "Print JSON (one object per line) instead of text.")
    package var json = false

    package init() {}

    /// The endpoint the options name.
    package var endpoint: RedisConfiguration.Endpoint {
        if let socket { .unix(path: socket) } else { .tcp(host: host, port: port) }
    }

    /// The client id and secret from the flags, then the environment, then the secret file; nil
    /// when no client id is given (an open listener needs no AUTH).
    package func credentials(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(AdminFailure) -> (clientID: String, secret: String)? {
        guard let clientID = clientId ?? environment["PRESIGND_CLIENT_ID"], !clientID.isEmpty else { return nil }
        if let secret { return (clientID, secret) }
        if let secretFile {
            guard let contents = try? String(contentsOfFile: secretFile, encoding: .utf8) else {
                throw AdminFailure(code: "USAGE", message: "cannot read the secret file \(secretFile)", status: .error)
            }
            return (clientID, contents.trimmingCharacters(in: .newlines))
        }
        if let secret = environment["PRESIGND_SECRET"] { return (clientID, secret) }
        throw AdminFailure(
            code: "USAGE",
            message: "client id \(clientID) has no secret: set PRESIGND_SECRET, --secret-file or --secret",
            status: .error)
    }

    /// The transport configuration: the endpoint, and `AUTH` on every connect when credentials are given.
    func redisConfiguration(_ authentication: Authentication) throws(AdminFailure) -> RedisConfiguration {
        var configuration = RedisConfiguration(endpoint: endpoint)
        configuration.connectTimeout = .seconds(3)
        configuration.failsReadinessOnConnectError = true
        if let credentials = try credentials() {
            configuration.onConnect = authentication.step(clientID: credentials.clientID, secret: credentials.secret)
        }
        return configuration
    }
}
