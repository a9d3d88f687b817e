import Logging
import NIOCore
import NIOPosix
import Synchronization

/// An auto-pipelined RESP2 client: a few multiplexed connections (one per event loop by default)
/// shared by every caller. Commands issued in the same loop tick leave in one write.
///
/// It never retries: a command whose outcome is unknown fails with `.outcomeUnknown`, and the caller
/// decides (presignd fails closed).
///
/// With a `.sentinel` endpoint it also listens for `+switch-master` on every sentinel and drops its
/// connections to a primary that was replaced, without waiting for that server to notice.
package final class RedisClient: Sendable {
    private let configuration: RedisConfiguration
    private let connections: [RedisConnection]
    /// One per connection: the `WAIT`s of replicated writes.
    private let confirmations: [RedisReplicaConfirmation]
    /// One subscriber per sentinel (empty without Sentinel).
    private let switchWatchers: [RedisSubscriber]
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
        self.confirmations = connections.map(RedisReplicaConfirmation.init(connection:))
        for connection in connections { connection.start() }
        guard case .sentinel(let sentinel) = configuration.endpoint else {
            self.switchWatchers = []
            return
        }
        self.switchWatchers = sentinel.sentinels.map { endpoint in
            var watch = RedisConfiguration(endpoint: endpoint)
            watch.username = sentinel.username
            watch.password = sentinel.password
            watch.connectTimeout = sentinel.queryTimeout
            watch.commandTimeout = sentinel.queryTimeout
            watch.maxInFlight = 4
            var logger = logger
            logger[metadataKey: "redis.role"] = "sentinel-watch"
            return RedisSubscriber(
                configuration: watch, channels: ["+switch-master"], eventLoop: loops[0], logger: logger,
                bufferCapacity: 64)
        }
        let maxReplyBytes = configuration.maxReplyBytes
        for watcher in switchWatchers {
            Task { [connections] in
                for await event in watcher.events {
                    switch event {
                    case .message(let message):
                        guard let old = Self.replacedPrimary(message.text, masterName: sentinel.masterName) else { continue }
                        for connection in connections { connection.primarySwitched(from: old) }
                    case .reconnected, .overflowed:
                        // Pub/sub keeps nothing for a subscriber that was away: a switch published
                        // meanwhile is only found by asking who the primary is now.
                        guard
                            let current = try? await RedisSentinelLookup.primary(
                                of: sentinel, on: loops[0], maxReplyBytes: maxReplyBytes
                            ).primary
                        else { continue }
                        for connection in connections { connection.primaryConfirmed(current) }
                    case .subscribed:
                        continue
                    }
                }
            }
        }
    }

    /// The old primary's address in a `+switch-master` payload (`<name> <old-ip> <old-port> <new-ip>
    /// <new-port>`) for `masterName`; nil for another name or another shape.
    static func replacedPrimary(_ payload: String, masterName: String) -> RedisConfiguration.Endpoint? {
        let fields = payload.split(separator: " ")
        guard fields.count == 5, fields[0] == masterName, let port = Int(fields[2]) else { return nil }
        return .tcp(host: String(fields[1]), port: port)
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
        submit(arguments, to: connection, promise: promise)
        return promise.futureResult
    }

    private func submit(_ arguments: [String], to connection: RedisConnection, promise: EventLoopPromise<RESPValue>) {
        if isShutdown.load(ordering: .relaxed) {
            promise.fail(RedisClientError(code: .shutdown, message: "client shut down; command not sent"))
        } else if arguments.isEmpty {
            promise.fail(RedisClientError(code: .unavailable, message: "empty command not sent"))
        } else {
            connection.send(arguments, promise: promise)
        }
    }

    /// Sends one command; with `replicated` and `replicaAcknowledgements` above 0, a reply that is not
    /// an error counts only once that many replicas confirmed the write: a `WAIT` on the same connection
    /// after it (shared with other writers, see `RedisReplicaConfirmation`); else, or when the
    /// connection was lost before its `WAIT` went out, the command fails with `.outcomeUnknown`. A
    /// denial wrote nothing and pays no wait.
    package func send(_ arguments: [String], replicated: Bool) async throws(RedisClientError) -> RESPValue {
        let replicas = replicated ? configuration.replicaAcknowledgements : 0
        guard replicas > 0 else { return try await send(arguments) }
        let index = connectionIndex(for: nil)
        let connection = connections[index]
        return try await confirmations[index].reply(replicas: replicas, timeout: configuration.replicaTimeout) {
            submit(arguments, to: connection, promise: $0)
        }
    }

    /// Whether writes sent as `replicated` wait for replicas (`WAIT`) before they count.
    package var confirmsWrites: Bool { configuration.replicaAcknowledgements > 0 }

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
        for watcher in switchWatchers { await watcher.shutdown() }
        for connection in connections {
            try? await connection.shutdown().get()
        }
    }

    private func connection(for eventLoop: (any EventLoop)?) -> RedisConnection {
        connections[connectionIndex(for: eventLoop)]
    }

    private func connectionIndex(for eventLoop: (any EventLoop)?) -> Int {
        if let loop = eventLoop ?? MultiThreadedEventLoopGroup.currentEventLoop,
            let local = connections.firstIndex(where: { $0.eventLoop === loop })
        {
            return local
        }
        let turn = nextConnection.wrappingAdd(1, ordering: .relaxed).oldValue
        return Int(turn % UInt(connections.count))
    }
}
