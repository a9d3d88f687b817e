import Broker
import Logging
import NIOCore
import Wire

/// One client connection of the line protocol. Requests are dispatched to the broker in order
/// on the connection's event loop; replies that need Redis complete later, possibly out of
/// order, and are written back in request order.
///
/// Backpressure: with `maxPipelined` replies outstanding, or while the socket is not writable
/// (a client that pipelines and never reads), the handler stops decoding requests and stops
/// reading from the socket, so a connection holds at most one read's worth of undecoded bytes.
/// That is why it drives the decoder itself rather than sitting behind a ByteToMessageHandler,
/// which would decode every buffered request regardless.
///
/// Subscribed mode (`SUBSCRIBE invalidations`): the connection registers with the broker's
/// `InvalidationHub` and writes each event as a `message` push, after any reply still owed. Events
/// written but not yet taken by the socket are counted; a subscriber that lets more than
/// `subscriberMaxEvents` or `subscriberMaxBytes` pile up is told why and disconnected, so it
/// neither slows the other subscribers nor grows presignd's memory.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A reply slot, filled when its request completes.
    private struct Slot {
        var reply: Reply?
        var version: RESPVersion
        var close: Bool
        /// Payload bytes when the slot is an event, counted against the subscriber's bound.
        var eventBytes: Int? = nil
    }

    /// How long a too-slow subscriber gets to read the error that explains its disconnection.
    private static let slowSubscriberGrace = TimeAmount.seconds(5)

    private let broker: Broker
    private let configuration: LineServerConfiguration
    private let counter: ConnectionCounter
    private let logger: Logger
    private var session: Session
    private var decoder: RequestDecoder
    /// Bytes received and not yet decoded.
    private var received: ByteBuffer?
    /// Whether `received` ends in a request cut short by the end of a read: only more bytes can
    /// complete it, so reading must go on however much of it is there.
    private var awaitingBytes = false
    /// The client shut down its side (half-close, as `nc -N` does after its input): what it sent
    /// is still answered, then the connection closes.
    private var inputClosed = false
    private var pending = CircularBuffer<Slot>(initialCapacity: 8)
    /// Index of `pending`'s first slot since the connection opened, to find slots by number.
    private var firstSlotNumber = 0
    private var readHeld = false
    private var needsFlush = false
    private var closing = false
    private var draining = false
    private var counted = false
    private var subscription: InvalidationHub.Subscription?
    /// Events handed to the channel (or waiting in `pending`) and not yet written to the socket.
    private var queuedEvents = 0
    private var queuedEventBytes = 0

    init(broker: Broker, session: Session, configuration: LineServerConfiguration, counter: ConnectionCounter, logger: Logger) {
        self.broker = broker
        self.session = session
        self.decoder = RequestDecoder(limits: Self.wireLimits(configuration, session))
        self.configuration = configuration
        self.counter = counter
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        guard counter.acquire(limit: configuration.maxConnections) else {
            // As Redis does: say why, then close.
            write(.error(code: "ERR", message: "max number of clients reached"), version: .resp2, context: context)
            closeAfterFlush(context: context)
            return
        }
        counted = true
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        endSubscription()
        if counted {
            counter.release()
            counted = false
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }  // dropped (while lingering after a drain, too)
        var bytes = unwrapInboundIn(data)
        awaitingBytes = false
        if received == nil || received!.readableBytes == 0 {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
        decodeRequests(context: context)
    }

    /// Whether more requests may be taken now.
    private var mayProcess: Bool { !closing && !draining && pending.count < configuration.maxPipelined }

    /// Requests taken in one go before the connections sharing the event loop get their turn: a
    /// client that pipelines thousands of requests must not make the others wait for all of them.
    private static let requestsPerTurn = 256
    private var nextTurnScheduled = false

    /// Decodes and dispatches buffered requests while the client keeps up, `requestsPerTurn` at a
    /// time.
    private func decodeRequests(context: ChannelHandlerContext) {
        var budget = Self.requestsPerTurn
        while mayProcess && context.channel.isWritable, var buffer = received, buffer.readableBytes > 0 {
            guard budget > 0 else {
                scheduleNextTurn(context: context)
                break
            }
            budget -= 1
            let request: [ByteBuffer]?
            do {
                request = try decoder.decode(buffer: &buffer)
            } catch {
                received = nil
                protocolError(error, context: context)
                return
            }
            received = buffer
            guard let request else {
                awaitingBytes = true
                break
            }
            awaitingBytes = false
            handle(request, context: context)
        }
        if let buffer = received, buffer.readerIndex > 65536 {
            received!.discardReadBytes()
        }
    }

    /// Goes on with the requests left in `received` after the event loop has served the others
    /// (reading stays held until they are done).
    private func scheduleNextTurn(context: ChannelHandlerContext) {
        guard !nextTurnScheduled else { return }
        nextTurnScheduled = true
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            bound.value.handler.nextTurnScheduled = false
            bound.value.handler.resumeReadingIfPossible(context: bound.value.context)
            bound.value.handler.closeIfInputDone(context: bound.value.context)
        }
    }

    /// The request limits of a connection: the configured ones once it has a client (after AUTH,
    /// or from the start on an open listener), stricter ones before.
    private static func wireLimits(_ configuration: LineServerConfiguration, _ session: Session) -> WireLimits {
        session.client == nil ? configuration.wire.beforeAuthenticating : configuration.wire
    }

    private func handle(_ arguments: [ByteBuffer], context: ChannelHandlerContext) {
        let outcome = broker.dispatch(arguments, session: &session, on: context.eventLoop)
        // The next request is read with the limits of who the connection now is.
        decoder.limits = Self.wireLimits(configuration, session)
        // HELLO answers in the protocol it switches to, as Redis does.
        let version = session.protocolVersion
        let close = session.closeAfterReply
        // Registered before the confirmation is written: an event that arrives meanwhile queues
        // behind it.
        if session.subscribed && subscription == nil {
            startSubscription(context: context)
        } else if !session.subscribed && subscription != nil {
            endSubscription()
        }
        switch outcome {
        case .now(let reply):
            answer(reply, version: version, close: close, context: context)
        case .replies(let replies):
            for (index, reply) in replies.enumerated() {
                answer(reply, version: version, close: close && index == replies.count - 1, context: context)
            }
        case .later(let future):
            let number = firstSlotNumber + pending.count
            pending.append(Slot(reply: nil, version: version, close: close))
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            future.hop(to: context.eventLoop).whenComplete { result in
                // The broker turns every failure into an error reply; a failed future means
                // the task itself was torn down, which still must deny.
                let reply: Reply
                switch result {
                case .success(let value): reply = value
                case .failure: reply = .error(code: "UNAVAILABLE", message: "the request did not complete")
                }
                bound.value.handler.complete(number, reply, context: bound.value.context)
            }
        }
        if close { closing = true }
    }

    /// Writes a reply that is known now, or queues it behind replies still owed.
    private func answer(_ reply: Reply, version: RESPVersion, close: Bool, context: ChannelHandlerContext) {
        if pending.isEmpty {
            write(reply, version: version, context: context)
            if close { closeAfterFlush(context: context) }
        } else {
            pending.append(Slot(reply: reply, version: version, close: close))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context: context)
        context.fireChannelReadComplete()
    }

    private func complete(_ number: Int, _ reply: Reply, context: ChannelHandlerContext) {
        let index = number - firstSlotNumber
        guard index >= 0, index < pending.count else { return }
        pending[pending.index(pending.startIndex, offsetBy: index)].reply = reply
        while let head = pending.first, let ready = head.reply {
            pending.removeFirst()
            firstSlotNumber += 1
            write(ready, version: head.version, eventBytes: head.eventBytes, context: context)
            if head.close {
                closeAfterFlush(context: context)
                return
            }
        }
        flushIfNeeded(context: context)
        resumeReadingIfPossible(context: context)
        if draining && pending.isEmpty { closeWhenDrained(context: context) }
        closeIfInputDone(context: context)
    }

    /// How long a drained connection waits for the client to close after the last reply.
    private static let lingerAfterDrain = TimeAmount.seconds(2)
    private var lingering = false

    /// At shutdown, once every request taken is answered: the replies, then end of output (the
    /// client reads them and sees the end), then the input the client sent meanwhile is read and
    /// dropped until it closes or `lingerAfterDrain` passes. Closing outright with that input unread
    /// would reset the connection and could destroy replies still on their way (a pipelining
    /// gateway would not learn of uses it spent).
    private func closeWhenDrained(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        lingering = true
        needsFlush = false
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            bound.value.close(mode: .output, promise: nil)
        }
        let timer = context.eventLoop.scheduleTask(in: Self.lingerAfterDrain) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in timer.cancel() }
        context.read()
    }

    /// After the client's half-close: closes once every request it sent is answered (a request
    /// it left unfinished is dropped, as Redis drops it).
    private func closeIfInputDone(context: ChannelHandlerContext) {
        guard inputClosed, !closing, pending.isEmpty, !hasUndecodedRequests else { return }
        closeAfterFlush(context: context)
    }

    private func write(_ reply: Reply, version: RESPVersion, eventBytes: Int? = nil, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        ReplyEncoder(version: version).encode(reply, into: &buffer)
        write(buffer, events: eventBytes == nil ? 0 : 1, eventBytes: eventBytes ?? 0, context: context)
    }

    /// Writes encoded replies holding `events` events of `eventBytes` payload bytes in all.
    private func write(_ buffer: ByteBuffer, events: Int, eventBytes: Int, context: ChannelHandlerContext) {
        var promise: EventLoopPromise<Void>?
        if events > 0 {
            // The write completes when the socket took the bytes: only then are the events off
            // presignd's hands.
            promise = context.eventLoop.makePromise()
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            promise!.futureResult.whenComplete { _ in
                handler.value.queuedEvents -= events
                handler.value.queuedEventBytes -= eventBytes
            }
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
        needsFlush = true
    }

    // MARK: subscribed mode

    /// A subscriber's socket send buffer. Linux would otherwise grow it to `tcp_wmem`'s maximum
    /// (4 MiB measured here) for a client that does not read, hiding that many bytes from the
    /// subscriber bound.
    private static let subscriberSendBuffer = 128 * 1024

    private func startSubscription(context: ChannelHandlerContext) {
        guard let hub = broker.invalidations else { return }
        _ = context.channel.setOption(.socketOption(.so_sndbuf), value: Self.subscriberSendBuffer)
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        subscription = hub.subscribe { messages in
            eventLoop.execute { bound.value.handler.deliver(messages, context: bound.value.context) }
        }
    }

    private func endSubscription() {
        if let subscription {
            broker.invalidations?.unsubscribe(subscription)
            self.subscription = nil
        }
    }

    /// Writes events as `message` pushes, after any reply still owed; disconnects a subscriber
    /// that does not keep up.
    private func deliver(_ messages: [InvalidationHub.Message], context: ChannelHandlerContext) {
        guard subscription != nil, !closing else { return }
        // A reload may have removed the client or its admin role: say so and close, as Redis
        // closes the connections of a deleted user.
        let client: ClientPolicy
        do throws(BrokerError) {
            client = try broker.subscriber(session)
        } catch {
            logger.warning("subscriber disconnected", metadata: ["reason": "\(error.message)"])
            endSubscription()
            answerLastAndClose(error.reply, context: context)
            flushIfNeeded(context: context)
            return
        }
        // Events that can go out now are encoded into one buffer: one write per batch, not per
        // event, keeps fan-out to many subscribers cheap.
        let encoder = ReplyEncoder(version: session.protocolVersion)
        var batch = context.channel.allocator.buffer(capacity: 0)
        var batchEvents = 0
        var batchBytes = 0
        func writeBatch() {
            guard batchEvents > 0 else { return }
            write(batch, events: batchEvents, eventBytes: batchBytes, context: context)
            batch = context.channel.allocator.buffer(capacity: 0)
            batchEvents = 0
            batchBytes = 0
        }
        for (message, bytes, event) in messages where Broker.event(event, isVisibleTo: client) {
            if !withinSubscriberBound(adding: bytes) {
                // A batch from the hub can be larger than the bound: hand what is queued to the
                // socket first (write promises complete during the flush), so only what the
                // client really leaves unread counts.
                writeBatch()
                needsFlush = false
                context.flush()
                guard withinSubscriberBound(adding: bytes) else {
                    disconnectSlowSubscriber(context: context)
                    return
                }
            }
            queuedEvents += 1
            queuedEventBytes += bytes
            if pending.isEmpty {
                encoder.encode(message, into: &batch)
                batchEvents += 1
                batchBytes += bytes
            } else {
                pending.append(Slot(reply: message, version: session.protocolVersion, close: false, eventBytes: bytes))
            }
        }
        writeBatch()
        flushIfNeeded(context: context)
    }

    private func withinSubscriberBound(adding bytes: Int) -> Bool {
        queuedEvents < configuration.subscriberMaxEvents && queuedEventBytes + bytes <= configuration.subscriberMaxBytes
    }

    private func disconnectSlowSubscriber(context: ChannelHandlerContext) {
        let reason =
            "subscriber too slow: more than \(configuration.subscriberMaxEvents) events or \(configuration.subscriberMaxBytes) bytes waiting to be read"
        logger.warning(
            "subscriber disconnected", metadata: ["reason": "\(reason)", "events.queued": "\(queuedEvents)"])
        endSubscription()
        // The reason goes after what is queued; a client that never reads will not see it, so
        // the connection closes after the grace period whether or not it was flushed.
        write(.error(code: "ERR", message: reason), version: session.protocolVersion, context: context)
        let channel = context.channel
        let timer = context.eventLoop.scheduleTask(in: Self.slowSubscriberGrace) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in timer.cancel() }
        closeAfterFlush(context: context)
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
    }

    private func closeAfterFlush(context: ChannelHandlerContext) {
        closing = true
        needsFlush = false
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }

    // MARK: reading only while the client keeps up

    /// Whether whole requests may be waiting in `received`, to be decoded before reading more.
    private var hasUndecodedRequests: Bool { !awaitingBytes && (received?.readableBytes ?? 0) > 0 }

    func read(context: ChannelHandlerContext) {
        if lingering {
            context.read()
            return
        }
        if !mayProcess || !context.channel.isWritable || hasUndecodedRequests {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    private func resumeReadingIfPossible(context: ChannelHandlerContext) {
        guard mayProcess, context.channel.isWritable else { return }
        if hasUndecodedRequests {
            decodeRequests(context: context)
            flushIfNeeded(context: context)
        }
        guard readHeld, mayProcess, context.channel.isWritable, !hasUndecodedRequests else { return }
        readHeld = false
        context.read()
    }

    // MARK: errors, idleness, shutdown

    private func protocolError(_ error: any Error, context: ChannelHandlerContext) {
        // The framing can no longer be trusted: nothing more is read or taken. The error goes
        // after the replies still owed to earlier requests, then the connection closes (as Redis
        // does).
        let message = (error as? WireError)?.message ?? "Protocol error"
        logger.debug("protocol error", metadata: ["error": "\(message)"])
        if closing {
            closeAfterFlush(context: context)
            return
        }
        answerLastAndClose(.error(code: "ERR", message: message), context: context)
    }

    /// The connection's last reply, after those still owed; nothing more is read or taken, and it
    /// closes once the reply is written.
    private func answerLastAndClose(_ reply: Reply, context: ChannelHandlerContext) {
        closing = true
        answer(reply, version: session.protocolVersion, close: true, context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            // A subscriber listens; it has nothing to send.
            if pending.isEmpty && subscription == nil {
                logger.debug("closing idle connection")
                context.close(promise: nil)
            }
            return
        }
        if event is ListenerSet.Drain {
            draining = true
            if pending.isEmpty { closeWhenDrained(context: context) }
            return
        }
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            if lingering {
                context.close(promise: nil)
                return
            }
            // A subscriber that stops sending is gone, as Redis treats it.
            if subscription != nil {
                endSubscription()
                closeAfterFlush(context: context)
            } else {
                resumeReadingIfPossible(context: context)
                closeIfInputDone(context: context)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
