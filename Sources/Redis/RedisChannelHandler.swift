import NIOCore

/// The multiplexed side of one Redis connection: encodes requests into one output buffer, writes
/// it once per event-loop tick (auto-pipelining), and matches replies to requests in FIFO order.
///
/// Everything here runs on the channel's event loop; the owning `RedisConnection` calls
/// `enqueue` from that loop only.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let promise: EventLoopPromise<RESPValue>
        let deadline: NIODeadline
    }

    private let commandTimeout: TimeAmount
    private let maxInFlight: Int
    private let reader: RESPReader
    private var context: ChannelHandlerContext?
    /// Requests written or about to be written, oldest first; replies complete them in order.
    private var pending = CircularBuffer<Pending>(initialCapacity: 64)
    /// How many requests at the tail of `pending` are still in `output`, not yet handed to the socket.
    private var unflushed = 0
    private var output = ByteBufferAllocator().buffer(capacity: 0)
    private var flushScheduled = false
    /// One timer for the whole queue: it fires at the head's deadline and, if the head has been
    /// answered meanwhile, re-arms itself for the new head instead of being rescheduled per reply.
    private var deadlineTimer: Scheduled<Void>?
    /// Set once the connection is going away: nothing more is accepted.
    private var closing = false
    /// Receives pub/sub `message` pushes once the connection subscribes (`RedisSubscriber`); nil on
    /// ordinary connections, where every value is a reply.
    var onPush: ((RedisPubSubMessage) -> Void)?

    /// Whether an error reply saying the server is no longer a writable primary closes the connection.
    private let closesWhenDemoted: Bool

    /// `closesWhenDemoted` is for primaries found through Sentinel: after a `READONLY` or `MASTERDOWN`
    /// reply the connection is closed (that reply still reaches its caller), so the owner reconnects
    /// to whichever server is the primary now.
    init(commandTimeout: Duration, maxInFlight: Int, maxReplyBytes: Int, closesWhenDemoted: Bool = false) {
        self.closesWhenDemoted = closesWhenDemoted
        self.commandTimeout = TimeAmount(commandTimeout)
        self.maxInFlight = maxInFlight
        self.reader = RESPReader(maxReplyBytes: maxReplyBytes)
    }

    /// Requests sent or queued on this connection and not yet answered.
    var inFlight: Int { pending.count }

    /// Queues one request; it goes out with the next flush, at the end of this loop tick. `timeout`
    /// replaces the command timeout for this request (a blocking `XREAD` needs its block time more).
    func enqueue(_ arguments: [String], timeout: TimeAmount? = nil, promise: EventLoopPromise<RESPValue>) {
        guard let context, !closing else {
            promise.fail(RedisClientError(code: .unavailable, message: "connection is closing; command not sent"))
            return
        }
        guard pending.count < maxInFlight else {
            promise.fail(
                RedisClientError(
                    code: .overloaded, message: "\(maxInFlight) requests already in flight; command not sent"))
            return
        }
        RESPRequestEncoder.encode(arguments, into: &output)
        let deadline = context.eventLoop.now + (timeout ?? commandTimeout)
        pending.append(Pending(promise: promise, deadline: deadline))
        unflushed += 1
        if deadlineTimer == nil { armDeadline(at: deadline, on: context.eventLoop) }
        if !flushScheduled {
            flushScheduled = true
            context.eventLoop.assumeIsolated().execute { self.flushOutput() }
        }
    }

    /// Fails every request and closes the connection. Sent ones get `sentError`; ones still in the
    /// output buffer were never sent and get `unsentError`.
    func close(sentError: RedisClientError, unsentError: RedisClientError) {
        failAll(sentError: sentError, unsentError: unsentError)
        context?.close(promise: nil)
    }

    // MARK: ChannelInboundHandler

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        output = context.channel.allocator.buffer(capacity: 4096)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(
            sentError: RedisClientError(code: .outcomeUnknown, message: "connection closed before the reply"),
            unsentError: RedisClientError(code: .unavailable, message: "connection closed; command not sent"))
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let bytes = unwrapInboundIn(data)
        do throws(RESPReader.Failure) {
            try reader.feed(bytes)
            while let value = try reader.next() {
                // A subscribed connection also receives values nobody asked for; in RESP2 they are
                // told apart only by their shape (`["message", channel, payload]`).
                if let onPush, let message = RedisPubSubMessage(value) {
                    onPush(message)
                    continue
                }
                guard pending.count > unflushed, let head = pending.popFirst() else {
                    throw RESPReader.Failure(message: "reply with no request waiting for it")
                }
                head.promise.succeed(value)
                if closing { return }
                if closesWhenDemoted, let message = value.errorMessage, Self.meansDemoted(message) {
                    close(
                        sentError: RedisClientError(
                            code: .outcomeUnknown,
                            message: "the server is no longer a writable primary; connection closed, outcome unknown"),
                        unsentError: RedisClientError(
                            code: .unavailable, message: "the server is no longer a writable primary; command not sent"))
                    return
                }
            }
        } catch {
            close(
                sentError: RedisClientError(
                    code: .protocolError, message: "\(error.message); connection closed, outcome unknown"),
                unsentError: RedisClientError(
                    code: .unavailable, message: "connection closed after a protocol error; command not sent"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(
            sentError: RedisClientError(code: .outcomeUnknown, message: "connection lost before the reply"),
            unsentError: RedisClientError(code: .unavailable, message: "connection lost; command not sent"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(
            sentError: RedisClientError(
                code: .outcomeUnknown, message: "connection failed before the reply (\(error))"),
            unsentError: RedisClientError(code: .unavailable, message: "connection failed; command not sent"))
    }

    /// Error replies of a server that is not the primary: a replica (`READONLY`), or a replica cut
    /// off from its primary (`MASTERDOWN`). Not `NOREPLICAS`: that comes from the right primary while
    /// too few replicas are in reach (`min-replicas-to-write`), and reconnecting would only find the
    /// same server again, and again for every write until a replica is back.
    static func meansDemoted(_ message: String) -> Bool {
        let word = message.prefix { $0 != " " }
        return word == "READONLY" || word == "MASTERDOWN"
    }

    // MARK: Flushing and deadlines

    private func flushOutput() {
        flushScheduled = false
        guard let context, !closing, output.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(output), promise: nil)
        // The written buffer is now shared with the channel, so clear() gets fresh storage of the
        // same capacity rather than scribbling over bytes not yet on the wire.
        output.clear()
        unflushed = 0
    }

    private func armDeadline(at deadline: NIODeadline, on eventLoop: any EventLoop) {
        deadlineTimer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.deadlinePassed() }
    }

    private func deadlinePassed() {
        deadlineTimer = nil
        guard let context, !closing, let head = pending.first else { return }
        if head.deadline > context.eventLoop.now {
            armDeadline(at: head.deadline, on: context.eventLoop)
            return
        }
        // The head may be stuck behind a frozen server or a lost connection; nothing later on this
        // connection can be answered before it, so the whole connection is given up.
        close(
            sentError: RedisClientError(
                code: .outcomeUnknown, message: "no reply within the command timeout; connection closed"),
            unsentError: RedisClientError(
                code: .unavailable, message: "connection timed out; command not sent"))
    }

    private func failAll(sentError: RedisClientError, unsentError: RedisClientError) {
        closing = true
        deadlineTimer?.cancel()
        deadlineTimer = nil
        let failed = pending
        let sent = pending.count - unflushed
        pending.removeAll()
        unflushed = 0
        output.clear()
        for (index, request) in failed.enumerated() {
            request.promise.fail(index < sent ? sentError : unsentError)
        }
    }
}
