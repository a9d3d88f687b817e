import Broker
import Logging
import NIOCore
import NIOHTTP1

/// One connection of the HTTP authorize endpoint. NIO's server pipeline decodes requests and
/// hands them over one at a time (it holds pipelined ones until the answer's end is written),
/// so this handler has at most one request in flight. Bodies are never read into memory: the
/// endpoint has no use for them.
final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let broker: Broker
    private let metrics: HTTPMetrics
    private let maxConnections: Int
    private let extraMetrics: @Sendable (inout PrometheusText) -> Void
    private let logger: Logger
    /// How long a whole request may take to arrive, counted from the connection's start or the
    /// previous answer (the idle timeout): a client sending a byte per idle period would otherwise
    /// hold the connection for ever.
    private let requestTimeout: TimeAmount
    private var requestDeadline: Scheduled<Void>?
    private var head: HTTPRequestHead?
    private var inFlight = false
    private var draining = false
    private var counted = false

    init(
        broker: Broker, metrics: HTTPMetrics, maxConnections: Int, requestTimeout: TimeAmount,
        extraMetrics: @escaping @Sendable (inout PrometheusText) -> Void, logger: Logger
    ) {
        self.requestTimeout = requestTimeout
        self.broker = broker
        self.metrics = metrics
        self.maxConnections = maxConnections
        self.extraMetrics = extraMetrics
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        guard metrics.connections.acquire(limit: maxConnections) else {
            context.close(promise: nil)
            return
        }
        counted = true
        metrics.connectionAccepted()
        awaitRequest(context: context)
        context.fireChannelActive()
    }

    /// Starts the time the next whole request has to arrive in.
    private func awaitRequest(context: ChannelHandlerContext) {
        requestDeadline?.cancel()
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        requestDeadline = context.eventLoop.scheduleTask(in: requestTimeout) {
            if !bound.value.handler.inFlight { bound.value.context.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        requestDeadline?.cancel()
        requestDeadline = nil
        if counted {
            metrics.connections.release()
            counted = false
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break  // ignored: the original request's body never comes here, and nothing else needs one
        case .end:
            guard let head else { return }
            self.head = nil
            requestDeadline?.cancel()
            requestDeadline = nil
            inFlight = true
            answer(head, context: context)
        }
    }

    /// Who asks, for the audit trail: the endpoint has no client authentication, so the gateway is
    /// known by its address (`http:10.0.0.7`).
    static func auditName(of channel: any Channel) -> String {
        "http:" + (channel.remoteAddress?.ipAddress ?? "unix")
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let route = GatewayRoute(method: head.method, uri: head.uri, headers: head.headers)
        let started = NIODeadline.now()
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let finish: @Sendable (HTTPAnswer) -> Void = { answer in
            let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
            bound.value.handler.metrics.record(endpoint: route.endpoint, outcome: answer.outcome, seconds: answer.timed ? seconds : nil)
            bound.value.handler.respond(answer, to: head, context: bound.value.context)
        }
        switch route {
        case .authorize(var request):
            request.client = Self.auditName(of: context.channel)
            broker.authorize(request, on: context.eventLoop).whenComplete { result in
                finish(HTTPAnswer(result))
            }
        case .commit(let lease), .release(let lease):
            broker.settle(
                lease: lease, commit: route == .commit(lease: lease), client: Self.auditName(of: context.channel),
                on: context.eventLoop
            ).whenComplete {
                result in
                switch result {
                case .success(nil): finish(HTTPAnswer(status: .ok, outcome: "OK", timed: true))
                case .success(let error?): finish(HTTPAnswer(denial: error))
                case .failure: finish(HTTPAnswer(denial: BrokerError(.unavailable, "the request did not complete")))
                }
            }
        case .health:
            finish(HTTPAnswer(status: .ok, outcome: "OK", body: "ok\n"))
        case .ready:
            broker.readiness(on: context.eventLoop).whenComplete { result in
                switch result {
                case .success(nil): finish(HTTPAnswer(status: .ok, outcome: "OK", body: "ready\n"))
                case .success(let error?):
                    finish(HTTPAnswer(status: .serviceUnavailable, outcome: error.code.rawValue, body: "\(error)\n"))
                case .failure:
                    finish(HTTPAnswer(status: .serviceUnavailable, outcome: "UNAVAILABLE", body: "UNAVAILABLE\n"))
                }
            }
        case .metrics:
            var text = PrometheusText()
            for (command, outcome, count) in broker.commandOutcomes {
                text.add(
                    "presignd_commands_total", type: "counter",
                    help: "Commands answered (line protocol and HTTP), by command and outcome.",
                    labels: [("command", command), ("outcome", outcome)], value: count)
            }
            metrics.write(into: &text)
            extraMetrics(&text)
            var answer = HTTPAnswer(status: .ok, outcome: "OK", body: text.text)
            answer.headers.replaceOrAdd(name: "content-type", value: "text/plain; version=0.0.4; charset=utf-8")
            finish(answer)
        case .deny(let error, let action):
            broker.refused(action, client: Self.auditName(of: context.channel), error: error)
            finish(HTTPAnswer(denial: error))
        case .refuse(let status):
            finish(HTTPAnswer(status: status, outcome: String(status.code), body: "\(status.reasonPhrase)\n"))
        }
    }

    private func respond(_ answer: HTTPAnswer, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        inFlight = false
        // After a CONNECT the parser reads the rest of the stream as a tunnel, not as requests:
        // nothing more can be answered on this connection.
        let keepAlive = request.isKeepAlive && !draining && request.method != .CONNECT
        var headers = answer.headers
        // An authorization answer is about one request: no cache may keep it (DESIGN.md).
        headers.replaceOrAdd(name: "cache-control", value: "no-store")
        let body = request.method == .HEAD ? "" : answer.body
        headers.replaceOrAdd(name: "content-length", value: String(answer.body.utf8.count))
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: answer.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        // Before the end is written: NIO hands over a pipelined request as soon as it is, and that
        // request's end cancels this deadline.
        if keepAlive { awaitRequest(context: context) }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            // Nothing came for the idle timeout: between requests, or in the middle of one (its
            // headers or a body that stopped coming). Only an answer being worked on holds it open.
            if !inFlight { context.close(promise: nil) }
            return
        }
        if event is ListenerSet.Drain {
            draining = true
            if !inFlight && head == nil { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The error's type only: some carry the bytes that were being read (a decoder's buffer).
        logger.debug("http connection error", metadata: ["error": "\(type(of: error))"])
        context.close(promise: nil)
    }
}
