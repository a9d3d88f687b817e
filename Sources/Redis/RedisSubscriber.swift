import Logging
import NIOCore

/// A dedicated Redis connection subscribed to pub/sub channels, delivering what is published as
/// `events`.
///
/// It owns one connection of its own, never the shared `RedisClient`'s: a subscribed RESP2
/// connection serves nothing but (un)subscribe and `PING`. It reconnects with the client's backoff
/// and subscribes again by itself; since pub/sub is at-most-once (a message published while nobody
/// listens is gone, redis.md §3.6), every reconnect puts `.reconnected` into `events` so the consumer
/// catches up from the Redis Stream (`RedisStreamReader`).
package final class RedisSubscriber: Sendable {
    /// Unread messages kept by default: a few hundred KiB of invalidation events (about 200 bytes
    /// each). A consumer further behind gets `.overflowed` and catches up from the Stream, which is
    /// cheaper than holding an unbounded backlog.
    package static let defaultBufferCapacity = 1024

    /// Everything this subscriber receives, until `shutdown()`.
    package let events: RedisSubscriberEvents
    /// The channels subscribed on every connect.
    package let channels: [String]
    private let connection: RedisConnection
    private let connectTimeout: Duration

    /// Subscribes to `channels` and starts connecting at once. `configuration.onConnect`, if set,
    /// runs before the subscription; its command timeout bounds each `SUBSCRIBE`.
    package init(
        configuration: RedisConfiguration, channels: [String], eventLoop: any EventLoop, logger: Logger,
        bufferCapacity: Int = RedisSubscriber.defaultBufferCapacity
    ) {
        precondition(!channels.isEmpty, "a subscriber needs a channel")
        let events = RedisSubscriberEvents(capacity: bufferCapacity)
        var logger = logger
        logger[metadataKey: "redis.role"] = "subscriber"
        var configuration = configuration
        let setUp = configuration.onConnect
        let subscriberLogger = logger
        configuration.onConnect = { setup in
            try await setUp?(setup)
            try await setup.receivePushes { message in events.deliver(.message(message)) }
            // One channel per SUBSCRIBE, so each request gets exactly one confirmation and replies
            // stay matched to requests in order.
            for channel in channels {
                let reply = try await setup.send(["SUBSCRIBE", channel])
                guard reply.array?.first?.string == "subscribe" else {
                    throw RedisClientError.unexpected(reply, from: "SUBSCRIBE")
                }
            }
            if events.subscriptionStarted() == .reconnected {
                subscriberLogger.info("redis subscriber resubscribed")
            }
        }
        self.events = events
        self.channels = channels
        self.connectTimeout = configuration.connectTimeout
        self.connection = RedisConnection(configuration: configuration, eventLoop: eventLoop, logger: logger)
        connection.start()
    }

    /// Returns once the first subscription is in place; throws `.unavailable` after the connect
    /// timeout, or at once when the server refused the handshake or the `SUBSCRIBE`.
    package func waitUntilSubscribed() async throws {
        try await connection.waitUntilReady(deadline: .now() + TimeAmount(connectTimeout)).get()
    }

    /// Stops reconnecting, closes the connection and ends `events` once what is buffered is read.
    package func shutdown() async {
        try? await connection.shutdown().get()
        events.finish()
    }
}
