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
    /// messages, each with its payload's size (what a subscriber's bound counts).
    package static func messages(_ events: [TokenEvent]) -> [(reply: Reply, bytes: Int)] {
        events.map { event in
            let payload = event.payloadWithID
            return (.push([.bulk("message"), .bulk(invalidationsChannel), .bulk(payload)]), payload.utf8.count)
        }
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
    func replay(_ arguments: inout CommandArguments) throws(BrokerError) -> @Sendable () async throws(BrokerError) -> Reply {
        guard let events else { throw BrokerError(.err, "REPLAY is not available on this listener") }
        let text = try arguments.string("event id")
        guard let id = EventID(text) else {
            throw BrokerError(.err, "Invalid stream ID specified as stream command argument: expected <ms>-<seq>")
        }
        var count = Self.defaultReplayCount
        if !arguments.isAtEnd {
            guard try arguments.string("option").uppercased() == "COUNT" else {
                throw BrokerError(.err, "syntax error: REPLAY <event-id> [COUNT n]")
            }
            count = try arguments.integer("COUNT", in: 1...Self.maxReplayCount)
        }
        try arguments.expectEnd()
        return { [count] () async throws(BrokerError) -> Reply in
            let found: EventStream.Replay
            do throws(TokenError) {
                found = try await events.replay(after: id, count: count)
            } catch {
                throw BrokerError(tokenError: error)
            }
            switch found {
            case .events(let list):
                return .array(list.map { .array([.bulk($0.id.description), .bulk($0.payloadWithID)]) })
            case .resync(let reason):
                throw BrokerError(.resync, "\(reason); treat every cached decision as unknown and resubscribe")
            }
        }
    }
}
