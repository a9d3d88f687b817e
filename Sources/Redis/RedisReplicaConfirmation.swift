import NIOCore

/// Confirms writes made on one connection with `WAIT`, one `WAIT` in flight at a time: writers whose
/// reply arrived meanwhile share the next one. `WAIT` covers every write its connection made before
/// it, so one call confirms a whole batch; and while no replica answers, the connection is blocked
/// for one `WAIT` timeout per batch rather than one per write.
///
/// `@unchecked Sendable` is sound because `batch` and `waiting` are read and written only on the
/// connection's event loop: `confirm` hops there, and the `WAIT` reply's callback runs there.
final class RedisReplicaConfirmation: @unchecked Sendable {
    private let connection: RedisConnection
    private var waiting = false
    private var batch: [EventLoopPromise<Int64>] = []

    init(connection: RedisConnection) {
        self.connection = connection
    }

    /// How many replicas acknowledged every write this connection made before the call (from a
    /// `WAIT <replicas> <milliseconds>` sent after it); -1 when the `WAIT` got no reply.
    private func confirm(replicas: Int, milliseconds: Int64) -> EventLoopFuture<Int64> {
        let loop = connection.eventLoop
        let promise = loop.makePromise(of: Int64.self)
        loop.execute {
            self.batch.append(promise)
            if !self.waiting { self.sendWait(replicas: replicas, milliseconds: milliseconds) }
        }
        return promise.futureResult
    }

    /// `reply`, the reply of a write this connection made, once `replicas` replicas confirmed it within
    /// `timeout`; an error reply (a denial wrote nothing) as it is, without waiting. An unconfirmed write
    /// fails with `.outcomeUnknown`: it ran on the primary, but may not survive a failover.
    func confirmed(_ reply: RESPValue, replicas: Int, timeout: Duration) async throws(RedisClientError) -> RESPValue {
        guard replicas > 0, reply.errorMessage == nil else { return reply }
        let milliseconds = timeout.wholeMilliseconds
        let count = try? await confirm(replicas: replicas, milliseconds: milliseconds).get()
        guard let count, count >= replicas else {
            throw RedisClientError(
                code: .outcomeUnknown,
                message: "the write was not confirmed by \(replicas) replica(s) within \(milliseconds) ms; "
                    + "it may not survive a failover")
        }
        return reply
    }

    private func sendWait(replicas: Int, milliseconds: Int64) {
        connection.eventLoop.assertInEventLoop()
        waiting = true
        let confirming = batch
        batch = []
        let reply = connection.eventLoop.makePromise(of: RESPValue.self)
        connection.send(["WAIT", String(replicas), String(milliseconds)], promise: reply)
        reply.futureResult.whenComplete { result in
            self.waiting = false
            let count = (try? result.get())?.integer ?? -1
            for promise in confirming { promise.succeed(count) }
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
