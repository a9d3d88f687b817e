import NIOCore

/// The connection being set up, handed to `RedisConfiguration.onConnect`: commands sent here go
/// out on that connection alone, before it serves any other request.
package struct RedisConnectionSetup: Sendable {
    let channel: any Channel

    /// Sends one command on the connection being set up; a Redis error reply comes back as `.error`.
    package func send(_ arguments: [String]) async throws(RedisClientError) -> RESPValue {
        let channel = self.channel
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        channel.eventLoop.execute {
            do {
                try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self)
                    .enqueue(arguments, promise: promise)
            } catch {
                promise.fail(
                    RedisClientError(code: .unavailable, message: "connection closed during setup; command not sent"))
            }
        }
        return try await promise.futureResult.redisReply()
    }

    /// Routes the pub/sub pushes of this connection to `onPush` (on its event loop) before it subscribes.
    func receivePushes(_ onPush: @escaping @Sendable (RedisPubSubMessage) -> Void) async throws {
        let channel = self.channel
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self).onPush = onPush
        }.get()
    }
}
