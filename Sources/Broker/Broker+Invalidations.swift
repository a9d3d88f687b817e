import NIOCore
import Tokens
import Wire

/// `SUBSCRIBE invalidations`, `UNSUBSCRIBE`, `REPLAY <event-id> [COUNT n]`.
///
/// Replies take Redis's pub/sub shape (`subscribe`/`unsubscribe` confirmations with the count of
/// channels, then `message` pushes), so a Redis client's pub/sub API works against presignd as it
/// is. The connection registers with the `InvalidationHub` when `Session.subscribed` turns on.
extension Broker {
    /// The one channel presignd publishes on.
    package static let invalidationsChannel = "invalidations"
    static let defaultReplayCount = 100
    static let maxReplayCount = 10_000

    /// `message` pushes carrying events (with their `event_id`), as Redis sends published
    /// messages, each with its payload's size (what a subscriber's bound counts) and its event.
    package static func messages(_ events: [TokenEvent]) -> [InvalidationHub.Message] {
        events.map { event in
            let payload = event.payloadWithID
            return (.push([.bulk("message"), .bulk(invalidationsChannel), .bulk(payload)]), payload.utf8.count, event)
        }
    }

    /// Whether `client` may see `event`: a client limited to buckets or key prefixes sees only the
    /// events about objects within them (and none whose object cannot be read from the payload).
    package static func event(_ event: TokenEvent, isVisibleTo client: ClientPolicy) -> Bool {
        guard client.isScoped else { return true }
        guard let object = event.object else { return false }
        return client.allows(bucket: object.bucket, key: object.key)
    }

    /// Under RESP2 a subscribed connection takes only what Redis takes in subscribed mode: the
    /// reply to PING (an array, as Redis answers it there), nil to go on with SUBSCRIBE,
    /// UNSUBSCRIBE or QUIT, and Redis's error for everything else.
    func subscribedModeReply(name: String, _ arguments: inout CommandArguments) throws(BrokerError) -> Reply? {
        switch name {
        case "PING":
            let message = arguments.isAtEnd ? ByteBuffer() : try arguments.bytes("message")
            try arguments.expectEnd()
            return .push([.bulk("pong"), .bulk(message)])
        case "SUBSCRIBE", "UNSUBSCRIBE", "QUIT":
            return nil
        default:
            throw BrokerError(
                .err,
                "Can't execute '\(Self.printable(name.lowercased(), limit: 32))': only SUBSCRIBE / UNSUBSCRIBE / PING / QUIT are allowed in this context"
            )
        }
    }

    func subscribe(_ arguments: inout CommandArguments, session: inout Session) throws(BrokerError) -> [Reply] {
        guard invalidations != nil else { throw BrokerError(.err, "invalidations are not available on this listener") }
        guard !arguments.isAtEnd else {
            throw BrokerError(.err, "wrong number of arguments for 'subscribe' command")
        }
        // Every channel is checked before any is subscribed to: a refused SUBSCRIBE changes nothing.
        var replies: [Reply] = []
        while !arguments.isAtEnd {
            let channel = try arguments.string("channel")
            guard channel == Self.invalidationsChannel else {
                throw BrokerError(
                    .err, "unknown channel '\(Self.printable(channel, limit: 64))': presignd publishes only '\(Self.invalidationsChannel)'")
            }
            replies.append(.push([.bulk("subscribe"), .bulk(channel), .integer(1)]))
        }
        session.subscribed = true
        return replies
    }

    /// Without arguments: from every channel, answering once even when subscribed to none, as Redis
    /// does. A channel presignd does not have is confirmed like one not subscribed to.
    func unsubscribe(_ arguments: inout CommandArguments, session: inout Session) throws(BrokerError) -> [Reply] {
        if arguments.isAtEnd {
            let channel: Reply = session.subscribed ? .bulk(Self.invalidationsChannel) : .null
            session.subscribed = false
            return [.push([.bulk("unsubscribe"), channel, .integer(0)])]
        }
        var replies: [Reply] = []
        while !arguments.isAtEnd {
            let channel = try arguments.string("channel")
            if channel == Self.invalidationsChannel { session.subscribed = false }
            replies.append(.push([.bulk("unsubscribe"), .bulk(channel), .integer(session.subscribed ? 1 : 0)]))
        }
        return replies
    }

    /// `REPLAY <event-id> [COUNT n]`: `[[event-id, event], …]` after the id, oldest first;
    /// `-RESYNC` when the Stream cannot tell what came after it (`EventStream.replay`).
    ///
    /// A scoped client gets only the events within its scope, `count` of them as for anyone: the
    /// Stream is read on, in pages doubling up to `maxReplayCount`, until that many are found or
    /// it ends (its length is bounded by `redis.events_max_len`), so an empty answer still means
    /// "nothing more".
    func replay(_ arguments: inout CommandArguments, client: ClientPolicy) throws(BrokerError)
        -> @Sendable () async throws(BrokerError) -> Reply
    {
        guard let events else { throw BrokerError(.err, "REPLAY is not available on this listener") }
        let text = try arguments.string("event id")
        guard let id = EventID(text) else {
            throw BrokerError(.err, "Invalid stream ID specified as stream command argument: expected <ms>-<seq>")
        }
        var count = Self.defaultReplayCount
        if !arguments.isAtEnd {
            guard try arguments.string("option").asciiUppercased == "COUNT" else {
                throw BrokerError(.err, "syntax error: REPLAY <event-id> [COUNT n]")
            }
            count = try arguments.integer("COUNT", in: 1...Self.maxReplayCount)
        }
        try arguments.expectEnd()
        return { [count] () async throws(BrokerError) -> Reply in
            var visible: [TokenEvent] = []
            var after = id
            var pageSize = count
            while visible.count < count {
                let found: EventStream.Replay
                do throws(TokenError) {
                    found = try await events.replay(after: after, count: pageSize)
                } catch {
                    throw BrokerError(tokenError: error)
                }
                guard case .events(let page) = found else {
                    guard case .resync(let reason) = found else { break }
                    throw BrokerError(.resync, "\(reason); treat every cached decision as unknown and resubscribe")
                }
                visible += page.lazy.filter { Self.event($0, isVisibleTo: client) }.prefix(count - visible.count)
                guard client.isScoped, let last = page.last else { break }
                after = last.id
                pageSize = min(2 * pageSize, Self.maxReplayCount)
            }
            return .array(visible.map { .array([.bulk($0.id.description), .bulk($0.payloadWithID)]) })
        }
    }
}
