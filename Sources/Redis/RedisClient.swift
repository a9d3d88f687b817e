import Logging
import NIOCore
import NIOPosix
import Synchronization

/// An auto-pipelined RESP2 client: a few multiplexed connections (one per event loop by default)
/// shared by every caller. Commands issued in the same loop tick leave in one write.
///
/// It never retries: a command whose outcome is unknown fails with `.outcomeUnknown`, and the caller
/// decides (presignd fails closed).
package final class RedisClient: Sendable {
    private let configuration: RedisConfiguration
    private let connections: [RedisConnection]
    private let nextConnection = Atomic<UInt>(0)
    private let isShutdown = Atomic<Bool>(false)

    /// Creates the client and starts connecting at once; use `waitUntilConnected()` to wait.
    package init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        let loops = Array(eventLoopGroup.makeIterator())
        let count = max(1, configuration.connectionCount ?? loops.count)
        self.connections = (0..<count).map { index in
            var logger = logger
            logger[metadataKey: "redis.connection"] = "\(index)"
            return RedisConnection(configuration: configuration, eventLoop: loops[index % loops.count], logger: logger)
        }
        for connection in connections { connection.start() }
    }

    /// Sends one command; a Redis error reply comes back as `.error`, not as a throw.
    package func send(_ arguments: [String]) async throws(RedisClientError) -> RESPValue {
        try await send(arguments, on: nil).redisReply()
    }

    /// Sends one command from NIO code. Called on one of the group's event loops (or with one as
    /// `eventLoop`), it uses that loop's connection, so nothing hops threads; otherwise connections
    /// take turns. The future completes on `eventLoop` when given.
    package func send(_ arguments: [String], on eventLoop: (any EventLoop)?) -> EventLoopFuture<RESPValue> {
        let connection = self.connection(for: eventLoop)
        let promise = (eventLoop ?? connection.eventLoop).makePromise(of: RESPValue.self)
        if isShutdown.load(ordering: .relaxed) {
            promise.fail(RedisClientError(code: .shutdown, message: "client shut down; command not sent"))
        } else if arguments.isEmpty {
            promise.fail(RedisClientError(code: .unavailable, message: "empty command not sent"))
        } else {
            connection.send(arguments, promise: promise)
        }
        return promise.futureResult
    }

    /// Returns once every connection is ready (connected and handshaken); throws a
    /// `RedisClientError` when that takes longer than `connectTimeout`, or at once when Redis
    /// refused the handshake (e.g. a wrong password).
    package func waitUntilConnected() async throws {
        let deadline = NIODeadline.now() + TimeAmount(configuration.connectTimeout)
        for connection in connections {
            try await connection.waitUntilReady(deadline: deadline).get()
        }
    }

    /// Closes every connection. Requests in flight fail with `.outcomeUnknown`, later ones with
    /// `.shutdown`.
    package func shutdown() async {
        isShutdown.store(true, ordering: .relaxed)
        for connection in connections {
            try? await connection.shutdown().get()
        }
    }

    private func connection(for eventLoop: (any EventLoop)?) -> RedisConnection {
        if let loop = eventLoop ?? MultiThreadedEventLoopGroup.currentEventLoop,
            let local = connections.first(where: { $0.eventLoop === loop })
        {
            return local
        }
        let turn = nextConnection.wrappingAdd(1, ordering: .relaxed).oldValue
        return connections[Int(turn % UInt(connections.count))]
    }
}
