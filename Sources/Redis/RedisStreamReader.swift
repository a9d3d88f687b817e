import Logging
import NIOCore

/// A dedicated Redis connection for blocking Stream reads (`XREAD BLOCK`) and the look-ups that go
/// with resuming (`XRANGE`, `XINFO STREAM`).
///
/// The shared `RedisClient` must never carry a blocking command: it would hold up every request
/// pipelined behind it and trip the command deadline. Here each request's deadline is its block time
/// plus the configured command timeout. Requests run one after another on the one connection, so
/// callers issue one blocking read at a time. It reconnects with the client's backoff; a read in
/// flight when the connection drops fails with `.outcomeUnknown`, which for a read only means
/// "read again from the last id you saw".
package final class RedisStreamReader: Sendable {
    private let connection: RedisConnection
    private let commandTimeout: Duration
    private let connectTimeout: Duration

    /// Starts connecting at once; use `waitUntilConnected()` to wait.
    package init(configuration: RedisConfiguration, eventLoop: any EventLoop, logger: Logger) {
        var logger = logger
        logger[metadataKey: "redis.role"] = "stream-reader"
        self.commandTimeout = configuration.commandTimeout
        self.connectTimeout = configuration.connectTimeout
        self.connection = RedisConnection(configuration: configuration, eventLoop: eventLoop, logger: logger)
        connection.start()
    }

    /// Returns once connected; throws `.unavailable` after the connect timeout or when Redis refused
    /// the handshake.
    package func waitUntilConnected() async throws {
        try await connection.waitUntilReady(deadline: .now() + TimeAmount(connectTimeout)).get()
    }

    /// Sends one command that may block up to `blocking` on the server; a Redis error reply comes back
    /// as `.error`.
    package func send(_ arguments: [String], blocking: Duration = .zero) async throws(RedisClientError) -> RESPValue {
        let promise = connection.eventLoop.makePromise(of: RESPValue.self)
        connection.send(arguments, timeout: TimeAmount(blocking + commandTimeout), promise: promise)
        return try await promise.futureResult.redisReply()
    }

    /// `XREAD BLOCK <ms> COUNT <count> STREAMS <stream> <after>`: the entries after id `after`
    /// (`$` for only new ones), waiting up to `block` for the first; empty when none came.
    package func read(
        stream: String, after: String, count: Int, block: Duration
    ) async throws(RedisClientError) -> [RedisStreamEntry] {
        let milliseconds = max(
            1, block.components.seconds * 1000 + block.components.attoseconds / 1_000_000_000_000_000)
        let reply = try await send(
            ["XREAD", "BLOCK", String(milliseconds), "COUNT", String(count), "STREAMS", stream, after], blocking: block)
        switch reply {
        case .null:
            return []
        case .array(let streams):
            // One stream was asked for, so the reply holds one `[name, entries]` pair.
            guard streams.count == 1, let pair = streams[0].array, pair.count == 2 else {
                throw RedisClientError.unexpected(reply, from: "XREAD")
            }
            return try RedisStreamEntry.list(pair[1])
        default:
            throw RedisClientError.unexpected(reply, from: "XREAD")
        }
    }

    /// `XRANGE <stream> <start> <end> COUNT <count>`: ids are inclusive; `(id` excludes `id`, `-` and
    /// `+` are the ends.
    package func range(
        stream: String, from start: String = "-", to end: String = "+", count: Int
    ) async throws(RedisClientError) -> [RedisStreamEntry] {
        let reply = try await send(["XRANGE", stream, start, end, "COUNT", String(count)])
        if case .error = reply { throw RedisClientError.unexpected(reply, from: "XRANGE") }
        return try RedisStreamEntry.list(reply)
    }

    /// `XINFO STREAM <stream>` as a dictionary (`length`, `first-entry`, `recorded-first-entry-id`, …);
    /// nil when the stream does not exist. Resuming from an id older than `recorded-first-entry-id`
    /// means entries were trimmed: the reader has a gap it cannot fill from the stream.
    package func info(stream: String) async throws(RedisClientError) -> [String: RESPValue]? {
        let reply = try await send(["XINFO", "STREAM", stream])
        if let message = reply.errorMessage, message.hasPrefix("ERR no such key") { return nil }
        guard let flat = reply.array, flat.count.isMultiple(of: 2) else {
            throw RedisClientError.unexpected(reply, from: "XINFO STREAM")
        }
        var info: [String: RESPValue] = [:]
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let name = flat[index].string else { throw RedisClientError.unexpected(reply, from: "XINFO STREAM") }
            info[name] = flat[index + 1]
        }
        return info
    }

    /// Stops reconnecting and closes the connection; a read in flight fails with `.outcomeUnknown`.
    package func shutdown() async {
        try? await connection.shutdown().get()
    }
}
