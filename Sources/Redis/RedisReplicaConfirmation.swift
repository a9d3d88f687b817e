import NIOCore

/// Confirms writes made on one connection with `WAIT`, one `WAIT` in flight at a time: writers whose
/// reply arrived meanwhile share the next one. `WAIT` covers every write its connection made before
/// it, so one call confirms a whole batch; and while no replica answers, the connection is blocked
/// for one `WAIT` timeout per batch rather than one per write.
///
/// A `WAIT` only speaks for writes made on its own connection: a new connection has made none, and
/// `WAIT` there answers at once with every replica. So each write's reply is tagged with the number
/// (generation) of the connection that carried it, and its `WAIT` goes out only on that same one;
/// if the connection was lost or replaced meanwhile, the write fails as `.outcomeUnknown`.
///
/// `@unchecked Sendable` is sound because `batch` and `waiting` are read and written only on the
/// connection's event loop: `confirm` hops there, and the `WAIT` reply's callback runs there.
final class RedisReplicaConfirmation: @unchecked Sendable {
    /// A writer waiting for a `WAIT`: its promise, and the generation that carried its write's reply.
    private struct Writer {
        let promise: EventLoopPromise<Int64>
        let generation: UInt64?
    }

    private let connection: RedisConnection
    private var waiting = false
    private var batch: [Writer] = []

    init(connection: RedisConnection) {
        self.connection = connection
    }

    /// Sends one request through `send`, which must hand the promise it is given to this connection,
    /// and returns its reply once `replicas` replicas confirmed it (see `confirmed`); with `replicas`
    /// 0 the reply as it is.
    func reply(
        replicas: Int, timeout: Duration, sending send: (EventLoopPromise<RESPValue>) -> Void
    ) async throws(RedisClientError) -> RESPValue {
        let promise = connection.eventLoop.makePromise(of: RESPValue.self)
        guard replicas > 0 else {
            send(promise)
            return try await promise.futureResult.redisReply()
        }
        let carried = self.carried(promise.futureResult)
        send(promise)
        let (reply, generation) = try await carried.redisReply()
        return try await confirmed(reply, generation: generation, replicas: replicas, timeout: timeout)
    }

    /// `reply` with the generation of the connection that carried it. `reply` must complete on this
    /// connection's loop: its callbacks then run inside the channel's read of the reply, before the
    /// channel can be replaced.
    func carried(_ reply: EventLoopFuture<RESPValue>) -> EventLoopFuture<(RESPValue, UInt64?)> {
        precondition(reply.eventLoop === connection.eventLoop, "the reply must complete on the connection's loop")
        return reply.map { ($0, self.connection.servingGeneration) }
    }

    /// `reply`, the reply of a write this connection's `generation` carried, once `replicas` replicas
    /// confirmed it within `timeout`; an error reply (a denial wrote nothing) as it is, without waiting.
    /// An unconfirmed write fails with `.outcomeUnknown`: it ran on the primary, but may not survive a
    /// failover. So does one whose connection is gone before its `WAIT` was sent.
    func confirmed(
        _ reply: RESPValue, generation: UInt64?, replicas: Int, timeout: Duration
    ) async throws(RedisClientError) -> RESPValue {
        guard replicas > 0, reply.errorMessage == nil else { return reply }
        let milliseconds = timeout.wholeMilliseconds
        let count = try? await confirm(generation: generation, replicas: replicas, milliseconds: milliseconds).get()
        guard let count, count >= replicas else {
            throw RedisClientError(
                code: .outcomeUnknown,
                message: "the write was not confirmed by \(replicas) replica(s) within \(milliseconds) ms; "
                    + "it may not survive a failover")
        }
        return reply
    }

    /// How many replicas acknowledged every write this connection's `generation` made before the call
    /// (from a `WAIT <replicas> <milliseconds>` sent after it on the same connection); -1 when the
    /// `WAIT` got no reply or could not be sent there.
    private func confirm(generation: UInt64?, replicas: Int, milliseconds: Int64) -> EventLoopFuture<Int64> {
        let loop = connection.eventLoop
        let promise = loop.makePromise(of: Int64.self)
        loop.execute {
            self.batch.append(Writer(promise: promise, generation: generation))
            if !self.waiting { self.sendWait(replicas: replicas, milliseconds: milliseconds) }
        }
        return promise.futureResult
    }

    private func sendWait(replicas: Int, milliseconds: Int64) {
        connection.eventLoop.assertInEventLoop()
        // Writers from a connection that is no longer serving cannot be confirmed by any WAIT now.
        let serving = connection.servingGeneration
        let writers = batch
        batch = []
        let stale = writers.filter { $0.generation == nil || $0.generation != serving }
        for writer in stale { writer.promise.succeed(-1) }
        guard let serving, stale.count < writers.count else { return }
        waiting = true
        let reply = connection.eventLoop.makePromise(of: RESPValue.self)
        connection.send(["WAIT", String(replicas), String(milliseconds)], onGeneration: serving, promise: reply)
        reply.futureResult.whenComplete { result in
            self.waiting = false
            let count = (try? result.get())?.integer ?? -1
            for writer in writers where writer.generation == serving { writer.promise.succeed(count) }
            if !self.batch.isEmpty { self.sendWait(replicas: replicas, milliseconds: milliseconds) }
        }
    }
}

extension Duration {
    /// This duration in whole milliseconds, at least 1 (`WAIT 0` would wait forever).
    var wholeMilliseconds: Int64 {
        max(1, components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}
