import Logging
import NIOCore
import NIOPosix

/// One multiplexed Redis connection pinned to one event loop, and its whole life: connect,
/// handshake, serve, reconnect with backoff, shut down.
///
/// `@unchecked Sendable` is sound because every mutable property is read and written only on
/// `eventLoop`: the entry points (`start`, `send`, `waitUntilReady`, `shutdown`) hop there first,
/// and every callback they register runs there (`eventLoop.assertInEventLoop()` checks it in
/// debug builds).
final class RedisConnection: @unchecked Sendable {
    private enum State {
        /// A connect attempt is under way. Only the first attempt of a cycle lets requests wait for
        /// it; later ones (after a failure) fail requests fast.
        case connecting(acceptsWaiters: Bool)
        case ready(any Channel, RedisChannelHandler)
        /// Between a failed attempt and the next one: requests fail fast with `.unavailable`.
        case waitingToReconnect
        case shutdown
    }

    /// A request waiting for the first connect of a cycle.
    private struct Waiter {
        let arguments: [String]
        let timeout: TimeAmount?
        let promise: EventLoopPromise<RESPValue>
        let deadline: NIODeadline
    }

    /// A connect attempt that Redis answered with an error (e.g. `WRONGPASS`), as opposed to one
    /// that could not reach it. Its message holds Redis's reply text, never the command.
    private struct HandshakeRejected: Error {
        let message: String
    }

    /// A server reached through Sentinel that is not (or no longer) the primary: this attempt fails
    /// and the next one asks the sentinels again.
    private struct NotPrimary: Error, CustomStringConvertible {
        let address: RedisConfiguration.Endpoint
        let role: String
        var description: String { "\(address) is a \(role), not the primary" }
    }

    private static let firstBackoff = TimeAmount.milliseconds(20)
    private static let maxBackoff = TimeAmount.milliseconds(500)
    /// A connection that lived at least this long is taken as healthy: its loss starts a fresh cycle
    /// (immediate reconnect) instead of continuing the backoff. A server that accepts and then drops
    /// every connection so cannot make the client spin.
    private static let healthyLifetime = TimeAmount.seconds(1)

    let eventLoop: any EventLoop
    private let configuration: RedisConfiguration
    private let logger: Logger

    private var state: State = .waitingToReconnect
    private var waiters = CircularBuffer<Waiter>()
    private var waiterTimer: Scheduled<Void>?
    private var readinessWaiters: [Int: EventLoopPromise<Void>] = [:]
    private var nextReadinessWaiter = 0
    /// Why the last attempt failed or the last connection ended; goes into `.unavailable` messages.
    private var lastFailure = "not connected yet"
    private var failedAttempts = 0
    private var readySince = NIODeadline.now()
    private var reconnectTimer: Scheduled<Void>?
    /// Completes when the attempt under way has fully ended (its channel closed if it was abandoned).
    private var attemptFinished: EventLoopFuture<Void>?
    /// The server of the current connection or attempt; with Sentinel, the primary it named.
    private var address: RedisConfiguration.Endpoint?
    /// The primary the sentinels named last, so a change of primary is logged once.
    private var lastDiscovered: RedisConfiguration.Endpoint?
    /// How many connections have become ready so far: the number of the one serving now. A reply and
    /// a later request can so be tied to the same channel (see `servingGeneration`).
    private var generation: UInt64 = 0

    init(configuration: RedisConfiguration, eventLoop: any EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        var logger = logger
        logger[metadataKey: "redis.endpoint"] = "\(configuration.endpoint)"
        self.logger = logger
    }

    /// Starts the first connect attempt.
    func start() {
        eventLoop.execute { self.connect(acceptsWaiters: true) }
    }

    /// Sends one request on this connection, or fails it at once when it cannot be sent. `timeout`
    /// replaces the command timeout for this request once it is sent.
    func send(_ arguments: [String], timeout: TimeAmount? = nil, promise: EventLoopPromise<RESPValue>) {
        if eventLoop.inEventLoop {
            enqueue(arguments, timeout: timeout, promise: promise)
        } else {
            eventLoop.execute { self.enqueue(arguments, timeout: timeout, promise: promise) }
        }
    }

    /// Succeeds once the connection is ready to serve, fails at `deadline` or at once when Redis
    /// rejected the handshake.
    func waitUntilReady(deadline: NIODeadline) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.eventLoop.assertInEventLoop()
            switch self.state {
            case .ready: return self.eventLoop.makeSucceededVoidFuture()
            case .shutdown: return self.eventLoop.makeFailedFuture(Self.shutdownError)
            case .connecting, .waitingToReconnect: break
            }
            let id = self.nextReadinessWaiter
            self.nextReadinessWaiter += 1
            let promise = self.eventLoop.makePromise(of: Void.self)
            self.readinessWaiters[id] = promise
            let timeout = self.eventLoop.scheduleTask(deadline: deadline) {
                self.readinessWaiters.removeValue(forKey: id)?.fail(
                    RedisClientError(
                        code: .unavailable, message: "not connected within the connect timeout (\(self.lastFailure))"))
            }
            promise.futureResult.whenComplete { _ in timeout.cancel() }
            return promise.futureResult
        }
    }

    /// Stops reconnecting, fails what is waiting or in flight, and closes the channel.
    func shutdown() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let previous = self.state
            self.state = .shutdown
            self.reconnectTimer?.cancel()
            self.reconnectTimer = nil
            self.failWaiters(Self.shutdownError)
            self.failReadinessWaiters(Self.shutdownError)
            switch previous {
            case .ready(let channel, let handler):
                handler.close(
                    sentError: RedisClientError(code: .outcomeUnknown, message: "client shut down before the reply"),
                    unsentError: Self.shutdownError)
                self.logger.info("redis connection closed")
                return channel.closeFuture
            case .connecting:
                return self.attemptFinished ?? self.eventLoop.makeSucceededVoidFuture()
            case .waitingToReconnect, .shutdown:
                return self.eventLoop.makeSucceededVoidFuture()
            }
        }
    }

    /// Sentinel announced that the primary at `old` was replaced: a connection to it is closed at once
    /// (requests in flight → `.outcomeUnknown`) and the reconnect asks the sentinels again. An old
    /// primary can go on acknowledging writes for seconds after the switch, and those writes are lost
    /// (redis.md §3.9).
    func primarySwitched(from old: RedisConfiguration.Endpoint) {
        eventLoop.execute {
            guard self.address == old else { return }
            self.closeReplacedPrimary(old, "sentinel switched the primary away; closing the connection to the old one")
        }
    }

    /// After a gap in the `+switch-master` watch (a watcher reconnected, or fell behind): Sentinel
    /// names `current` as the primary now; a connection to any other server is closed, so the next
    /// request discovers the primary again. A switch published during the gap is caught here.
    func primaryConfirmed(_ current: RedisConfiguration.Endpoint) {
        eventLoop.execute {
            guard let address = self.address, address != current else { return }
            self.closeReplacedPrimary(
                address, "sentinel names another primary after a gap in its events; closing the connection to the old one")
        }
    }

    private func closeReplacedPrimary(_ old: RedisConfiguration.Endpoint, _ message: Logger.Message) {
        guard case .ready(_, let handler) = state else { return }
        logger.warning(message, metadata: ["redis.primary": "\(old)"])
        handler.close(
            sentError: RedisClientError(
                code: .outcomeUnknown, message: "the primary was replaced before the reply; connection closed"),
            unsentError: RedisClientError(code: .unavailable, message: "the primary was replaced; command not sent"))
    }

    private static let shutdownError = RedisClientError(code: .shutdown, message: "client shut down; command not sent")

    /// The number of the connection (channel) serving now, counting from 1 with every connect; nil
    /// while none is ready. Read on `eventLoop` only. Read inside a reply's own callback, it is the
    /// number of the channel that carried that reply: a channel is replaced only after it closed,
    /// and its replies are all delivered before that.
    var servingGeneration: UInt64? {
        eventLoop.assertInEventLoop()
        if case .ready = state { return generation }
        return nil
    }

    /// Sends one request only on the connection numbered `generation`: if that one is gone (closed,
    /// or replaced by a reconnect), the request fails with `.unavailable` and is not sent anywhere.
    /// Called on `eventLoop`, the check and the enqueue happen in one step.
    func send(_ arguments: [String], onGeneration generation: UInt64, promise: EventLoopPromise<RESPValue>) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.send(arguments, onGeneration: generation, promise: promise) }
            return
        }
        guard case .ready(_, let handler) = state, self.generation == generation else {
            promise.fail(
                RedisClientError(
                    code: .unavailable, message: "the connection that carried the write is gone; command not sent"))
            return
        }
        handler.enqueue(arguments, promise: promise)
    }

    // MARK: Requests

    private func enqueue(_ arguments: [String], timeout: TimeAmount?, promise: EventLoopPromise<RESPValue>) {
        eventLoop.assertInEventLoop()
        switch state {
        case .ready(_, let handler):
            handler.enqueue(arguments, timeout: timeout, promise: promise)
        case .connecting(acceptsWaiters: true):
            guard waiters.count < configuration.maxInFlight else {
                promise.fail(
                    RedisClientError(
                        code: .overloaded,
                        message: "\(configuration.maxInFlight) requests already waiting to connect; command not sent"))
                return
            }
            let deadline = eventLoop.now + TimeAmount(configuration.commandTimeout)
            waiters.append(Waiter(arguments: arguments, timeout: timeout, promise: promise, deadline: deadline))
            if waiterTimer == nil { armWaiterTimer(at: deadline) }
        case .connecting(acceptsWaiters: false), .waitingToReconnect:
            promise.fail(
                RedisClientError(
                    code: .unavailable, message: "not connected to Redis (\(lastFailure)); command not sent"))
        case .shutdown:
            promise.fail(Self.shutdownError)
        }
    }

    private func armWaiterTimer(at deadline: NIODeadline) {
        waiterTimer = eventLoop.scheduleTask(deadline: deadline) { self.waiterDeadlinePassed() }
    }

    /// Fails the waiters whose deadline passed; waiting never outlasts the command timeout.
    private func waiterDeadlinePassed() {
        waiterTimer = nil
        let now = eventLoop.now
        while let head = waiters.first, head.deadline <= now {
            waiters.removeFirst()
            head.promise.fail(
                RedisClientError(
                    code: .unavailable, message: "still connecting to Redis after the command timeout; command not sent"
                ))
        }
        if let head = waiters.first { armWaiterTimer(at: head.deadline) }
    }

    private func failWaiters(_ error: RedisClientError) {
        waiterTimer?.cancel()
        waiterTimer = nil
        let failed = waiters
        waiters.removeAll()
        for waiter in failed { waiter.promise.fail(error) }
    }

    private func failReadinessWaiters(_ error: RedisClientError) {
        let failed = readinessWaiters.values
        readinessWaiters.removeAll()
        for promise in failed { promise.fail(error) }
    }

    // MARK: Connecting

    private func connect(acceptsWaiters: Bool) {
        eventLoop.assertInEventLoop()
        guard case .waitingToReconnect = state else { return }
        state = .connecting(acceptsWaiters: acceptsWaiters)
        let finished = eventLoop.makePromise(of: Void.self)
        attemptFinished = finished.futureResult
        address = nil
        resolveAddress()
            .flatMap { address in
                self.address = address
                return self.makeChannel(to: address)
            }
            .flatMap { channel in
                self.handshake(channel)
                    .map { channel }
                    .flatMapError { error in
                        channel.close(promise: nil)
                        return self.eventLoop.makeFailedFuture(error)
                    }
            }
            .hop(to: eventLoop)
            .whenComplete { result in self.attemptEnded(result, finished: finished) }
    }

    /// The server to connect to: the configured one, or the primary the sentinels name now (asked
    /// on every attempt, never cached, so a failover is followed).
    private func resolveAddress() -> EventLoopFuture<RedisConfiguration.Endpoint> {
        guard case .sentinel(let sentinel) = configuration.endpoint else {
            return eventLoop.makeSucceededFuture(configuration.endpoint)
        }
        let eventLoop = self.eventLoop
        let maxReplyBytes = configuration.maxReplyBytes
        return eventLoop.makeFutureWithTask {
            try await RedisSentinelLookup.primary(of: sentinel, on: eventLoop, maxReplyBytes: maxReplyBytes)
        }
        .map { found in
            let changed = found.primary != self.lastDiscovered
            self.lastDiscovered = found.primary
            self.logger.log(
                level: changed ? .info : .debug, "redis primary discovered",
                metadata: ["redis.primary": "\(found.primary)", "redis.sentinel": "\(found.sentinel)"])
            return found.primary
        }
    }

    private func makeChannel(to address: RedisConfiguration.Endpoint) -> EventLoopFuture<any Channel> {
        Self.makeChannel(
            to: address, on: eventLoop, connectTimeout: configuration.connectTimeout,
            commandTimeout: configuration.commandTimeout, maxInFlight: configuration.maxInFlight,
            maxReplyBytes: configuration.maxReplyBytes, closesWhenDemoted: configuration.endpoint.isSentinel)
    }

    /// A TCP or Unix connection to `address` with a `RedisChannelHandler` in its pipeline.
    static func makeChannel(
        to address: RedisConfiguration.Endpoint, on eventLoop: any EventLoop, connectTimeout: Duration,
        commandTimeout: Duration, maxInFlight: Int, maxReplyBytes: Int, closesWhenDemoted: Bool = false
    ) -> EventLoopFuture<any Channel> {
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RedisChannelHandler(
                            commandTimeout: commandTimeout, maxInFlight: maxInFlight, maxReplyBytes: maxReplyBytes,
                            closesWhenDemoted: closesWhenDemoted))
                }
            }
        switch address {
        case .tcp(let host, let port):
            // Requests are already batched per loop tick, so Nagle would only add latency; keepalive
            // notices a peer that vanished without a FIN.
            return
                bootstrap
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .connect(host: host, port: port)
        case .unix(let path):
            return bootstrap.connect(unixDomainSocketPath: path)
        case .sentinel:
            return eventLoop.makeFailedFuture(
                RedisClientError(code: .unavailable, message: "a Sentinel configuration is not a server address"))
        }
    }

    /// `AUTH` and `CLIENT SETNAME` (pipelined), then the `onConnect` hook. The connection serves
    /// requests only after all of them succeeded. Never `HELLO 3`: hiredis 0.14 parses RESP2 only.
    private func handshake(_ channel: any Channel) -> EventLoopFuture<Void> {
        let handler: RedisChannelHandler
        do {
            handler = try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        var steps: [(name: String, arguments: [String])] = []
        if let password = configuration.password {
            steps.append(("AUTH", configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]))
        }
        if let name = configuration.clientName {
            steps.append(("CLIENT SETNAME", ["CLIENT", "SETNAME", name]))
        }
        let replies = steps.map { step in
            let promise = eventLoop.makePromise(of: RESPValue.self)
            handler.enqueue(step.arguments, promise: promise)
            return promise.futureResult.flatMapThrowing { reply in
                if case .error(let message) = reply {
                    throw HandshakeRejected(message: "\(step.name) refused: \(message)")
                }
            }
        }
        // Replies arrive in order, so the first failure reported is the earliest step's.
        var done = EventLoopFuture.andAllSucceed(replies, on: eventLoop)
        if configuration.endpoint.isSentinel, let address {
            // Sentinel's answer may be stale (a failover under way): only a server that itself says
            // it is the primary serves requests.
            let role = eventLoop.makePromise(of: RESPValue.self)
            handler.enqueue(["ROLE"], promise: role)
            done = done.and(role.futureResult).flatMapThrowing { _, reply in
                let name = reply.array?.first?.string
                guard name == "master" else {
                    throw NotPrimary(address: address, role: name ?? reply.errorMessage ?? "server of unknown role")
                }
            }
        }
        if let onConnect = configuration.onConnect {
            let setup = RedisConnectionSetup(channel: channel)
            let eventLoop = self.eventLoop
            done = done.flatMap {
                eventLoop.makeFutureWithTask { try await onConnect(setup) }
                    .flatMapErrorThrowing { error in
                        throw HandshakeRejected(message: "connection setup failed: \(error)")
                    }
            }
        }
        return done
    }

    private func attemptEnded(_ result: Result<any Channel, any Error>, finished: EventLoopPromise<Void>) {
        eventLoop.assertInEventLoop()
        guard case .connecting = state else {
            // Shut down meanwhile: drop the new channel, if any.
            if case .success(let channel) = result {
                channel.close(promise: nil)
                channel.closeFuture.whenComplete { _ in finished.succeed() }
            } else {
                finished.succeed()
            }
            return
        }
        defer { finished.succeed() }
        switch result {
        case .success(let channel):
            guard let handler = try? channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self) else {
                channel.close(promise: nil)
                attemptFailed(reason: "connection closed during the handshake", rejected: false)
                return
            }
            generation += 1
            state = .ready(channel, handler)
            readySince = eventLoop.now
            // The backoff is not reset here but when this connection ends having lived the healthy
            // time (`channelClosed`): a server that drops each connection after the handshake would
            // otherwise have one every 20 ms.
            if configuration.endpoint.isSentinel, let address {
                logger.info("redis connected", metadata: ["redis.primary": "\(address)"])
            } else {
                logger.info("redis connected")
            }
            channel.closeFuture.whenComplete { _ in self.channelClosed(channel) }
            waiterTimer?.cancel()
            waiterTimer = nil
            let queued = waiters
            waiters.removeAll()
            for waiter in queued {
                handler.enqueue(waiter.arguments, timeout: waiter.timeout, promise: waiter.promise)
            }
            let ready = readinessWaiters.values
            readinessWaiters.removeAll()
            for promise in ready { promise.succeed() }
        case .failure(let error as HandshakeRejected):
            attemptFailed(reason: error.message, rejected: true)
        case .failure(let error):
            attemptFailed(reason: Self.describe(connectFailure: error), rejected: false)
        }
    }

    /// A connect failure as a person reads it: the system's word for the errno (`Connection
    /// refused`, `No such file or directory`) rather than NIO's nested description.
    static func describe(connectFailure error: any Error) -> String {
        if let failure = error as? NIOConnectionError, let first = failure.connectionErrors.first {
            return describe(connectFailure: first.error)
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        return "\(error)"
    }

    private func attemptFailed(reason: String, rejected: Bool) {
        lastFailure = reason
        // The first failure of an outage is a warning; the retries that follow every ≤500 ms are
        // debug, so a long outage does not flood the log.
        logger.log(
            level: failedAttempts == 0 ? .warning : .debug, "redis connect failed",
            metadata: ["redis.error": "\(reason)"])
        let error = RedisClientError(
            code: .unavailable, message: "could not connect to Redis (\(reason)); command not sent")
        failWaiters(error)
        // Waiting longer will not change Redis's answer to the handshake.
        if rejected {
            failReadinessWaiters(error)
        } else if configuration.failsReadinessOnConnectError {
            failReadinessWaiters(RedisClientError(code: .unavailable, message: reason))
        }
        scheduleReconnect()
    }

    private func channelClosed(_ channel: any Channel) {
        eventLoop.assertInEventLoop()
        guard case .ready(let current, _) = state, current === channel else { return }
        lastFailure = "connection lost"
        logger.warning("redis disconnected")
        state = .waitingToReconnect
        if eventLoop.now - readySince >= Self.healthyLifetime {
            failedAttempts = 0
            connect(acceptsWaiters: true)
        } else {
            scheduleReconnect()
        }
    }

    /// Exponential backoff from 20 ms up to 500 ms, so recovery after Redis comes back takes at
    /// most about half a second plus the connect.
    private func scheduleReconnect() {
        state = .waitingToReconnect
        let exponent = min(failedAttempts, 10)
        failedAttempts += 1
        let delay = min(Self.firstBackoff * (1 << exponent), Self.maxBackoff)
        reconnectTimer = eventLoop.scheduleTask(in: delay) {
            self.reconnectTimer = nil
            self.connect(acceptsWaiters: false)
        }
    }
}
