import NIOCore

/// What the token store and the event reader need from a Redis client, so they run on a standalone
/// (or Sentinel-managed) `RedisClient` and on a `RedisClusterClient` alike.
package protocol RedisCommandSender: Sendable {
    /// Sends one command; a Redis error reply comes back as `.error`, not as a throw.
    ///
    /// `routingKey` is the key the command works on: a Cluster client sends the command to the
    /// primary owning that key's hash slot; a standalone client has one server and ignores it.
    func send(_ arguments: [String], routingKey: String?) async throws(RedisClientError) -> RESPValue

    /// Sends one command as `send(_:routingKey:)` does; with `replicated` and the client configured
    /// to wait for replicas, a reply that is not an error counts only once that many replicas
    /// confirmed the write (`WAIT`), else the command fails with `.outcomeUnknown`.
    func send(_ arguments: [String], routingKey: String?, replicated: Bool) async throws(RedisClientError) -> RESPValue

    /// Sends one command as `send(_:routingKey:replicated:)` does, from code running on an event
    /// loop, without a task: the reply (or a `RedisClientError`) completes the future on
    /// `eventLoop`. Nil when this sender cannot do that (a write it must confirm with `WAIT`, or a
    /// cluster, whose redirections are followed in a task): then the caller uses the async form.
    func sendOnLoop(
        _ arguments: [String], routingKey: String?, replicated: Bool, on eventLoop: any EventLoop
    ) -> EventLoopFuture<RESPValue>?

    /// Closes every connection; requests in flight fail with `.outcomeUnknown`, later ones with `.shutdown`.
    func shutdown() async
}

extension RedisCommandSender {
    package func sendOnLoop(
        _ arguments: [String], routingKey: String?, replicated: Bool, on eventLoop: any EventLoop
    ) -> EventLoopFuture<RESPValue>? {
        nil
    }
}

extension RedisClient: RedisCommandSender {
    /// Sends one command to the one server; the routing key plays no part.
    package func send(_ arguments: [String], routingKey: String?) async throws(RedisClientError) -> RESPValue {
        try await send(arguments)
    }

    /// Sends one command to the one server, confirmed by `replicaAcknowledgements` replicas when
    /// `replicated` (the routing key plays no part).
    package func send(
        _ arguments: [String], routingKey: String?, replicated: Bool
    ) async throws(RedisClientError) -> RESPValue {
        try await send(arguments, replicated: replicated)
    }

    /// Sends one command on `eventLoop`'s own connection (one per loop, so nothing hops threads),
    /// unless it is a write to be confirmed by replicas.
    package func sendOnLoop(
        _ arguments: [String], routingKey: String?, replicated: Bool, on eventLoop: any EventLoop
    ) -> EventLoopFuture<RESPValue>? {
        guard !replicated || !confirmsWrites else { return nil }
        return send(arguments, on: eventLoop)
    }
}
