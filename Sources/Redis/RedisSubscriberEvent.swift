/// What a `RedisSubscriber` tells its consumer.
package enum RedisSubscriberEvent: Sendable, Hashable {
    /// The first subscription is in place: messages published from now on arrive.
    case subscribed
    /// A message published on one of the channels.
    case message(RedisPubSubMessage)
    /// The connection was lost and is subscribed again. Pub/sub is at-most-once: whatever was
    /// published in between is gone, so the consumer catches up from the Redis Stream.
    case reconnected
    /// The consumer fell behind the subscriber's buffer and messages were dropped here; catch up from
    /// the Redis Stream as after `reconnected`.
    case overflowed
}

extension RedisSubscriberEvent {
    /// Whether messages may be missing just before this event.
    package var isGap: Bool {
        switch self {
        case .reconnected, .overflowed: true
        case .subscribed, .message: false
        }
    }
}
