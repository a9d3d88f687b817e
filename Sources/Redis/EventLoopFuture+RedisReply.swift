import NIOCore

extension EventLoopFuture where Value: Sendable {
    /// Awaits the reply (or a value made from it), with the error typed: everything this module fails
    /// a promise with is a `RedisClientError`; anything else (a NIO error from a torn-down channel)
    /// means the command may have been sent, so it is reported as an unknown outcome.
    func redisReply() async throws(RedisClientError) -> Value {
        do {
            return try await get()
        } catch let error as RedisClientError {
            throw error
        } catch {
            throw RedisClientError(code: .outcomeUnknown, message: "request failed (\(error))")
        }
    }
}
