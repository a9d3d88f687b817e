import Logging
import NIOCore
import NIOPosix
import Redis
import TestSupport
import Testing

/// A private redis-server plus a client connected to it.
struct RedisTestHarness {
    let server: RedisServer
    let client: RedisClient
    let logs: LogRecorder

    /// Starts a server and a client over TCP (or the server's Unix socket), after `configure`
    /// adjusted the client configuration. The client's connections live on `eventLoopGroup`.
    static func start(
        serverConfig: [String] = [], unixSocket: Bool = false,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        configure: (inout RedisConfiguration) -> Void = { _ in }
    ) throws -> RedisTestHarness {
        let server = try RedisServer.start(config: serverConfig, unixSocket: unixSocket)
        let endpoint: RedisConfiguration.Endpoint =
            if let path = server.unixSocket { .unix(path: path) } else { .tcp(host: "127.0.0.1", port: server.port) }
        var configuration = RedisConfiguration(endpoint: endpoint)
        // The whole suite runs in parallel on two cores, each test with its own redis-server:
        // a first connect can take longer than production's 1 s. Tests about timeouts set theirs.
        configuration.connectTimeout = .seconds(10)
        configure(&configuration)
        let logs = LogRecorder()
        let client = RedisClient(
            configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logs.logger)
        return RedisTestHarness(server: server, client: client, logs: logs)
    }

    func stop() async {
        await client.shutdown()
        server.stop()
    }
}

/// The failure code of `body`, or nil when it succeeded.
func failureCode(_ body: () async throws -> RESPValue) async -> RedisClientError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as RedisClientError {
        return error.code
    } catch {
        Issue.record("not a RedisClientError: \(error)")
        return nil
    }
}
