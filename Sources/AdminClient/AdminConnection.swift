import Logging
import NIOCore
import NIOPosix
import Redis

/// One authenticated connection to presignd for one-shot commands. presignd speaks RESP, so the
/// `Redis` module's client does the transport; `AUTH` is sent as a command (not in the handshake) so
/// that a `WRONGPASS` comes back as a denial instead of an endless reconnect.
package final class AdminConnection: Sendable {
    private let client: RedisClient

    private init(client: RedisClient) {
        self.client = client
    }

    /// Connects to `options`'s endpoint and authenticates when credentials are given.
    package static func open(_ options: ConnectionOptions) async throws(AdminFailure) -> AdminConnection {
        let authentication = Authentication()
        var configuration = try options.redisConfiguration(authentication)
        configuration.connectionCount = 1
        // ISSUE and REVOKE TAG do Redis work behind presignd; give them more than a Redis command.
        configuration.commandTimeout = .seconds(10)
        let client = RedisClient(
            configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "presignctl", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            try await client.waitUntilConnected()
        } catch {
            await client.shutdown()
            throw authentication.failure(connecting: options.endpoint, error)
        }
        return AdminConnection(client: client)
    }

    /// Sends one command and returns its reply; an error reply throws as a denial or an error.
    /// `name` stands for the command in messages, so arguments (a secret, a URL) never appear there.
    package func send(_ arguments: [String], name: String) async throws(AdminFailure) -> RESPValue {
        let reply: RESPValue
        do {
            reply = try await client.send(arguments)
        } catch {
            throw AdminFailure(
                code: "CONNECT", message: "\(name) got no reply from presignd (\(error.message))", status: .error)
        }
        if let message = reply.errorMessage { throw AdminFailure(errorReply: message) }
        return reply
    }

    package func close() async {
        await client.shutdown()
    }
}

extension AdminConnection {
    /// Opens a connection, runs `body`, prints what it returns, and closes. A failure is printed
    /// (on stderr, or stdout with --json) and ends the command with its exit status.
    package static func run(
        _ options: ConnectionOptions, _ body: (AdminConnection) async throws(AdminFailure) -> String
    ) async throws(AdminFailure) {
        let connection = try await open(options)
        do {
            let output = try await body(connection)
            await connection.close()
            AdminOutput.emit(output)
        } catch {
            await connection.close()
            throw error
        }
    }
}
