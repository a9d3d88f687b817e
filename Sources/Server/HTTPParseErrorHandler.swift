import Broker
import Logging
import NIOCore
import NIOHTTP1

/// Answers a request NIO's HTTP parser cannot take (a malformed request line or header, headers
/// over the size limits) as presignd answers every other refusal: `403` with `X-Presign-Deny: ERR`
/// and `Cache-Control: no-store`, counted, and logged with who sent it, then closes the connection
/// (a parse error leaves the rest of the stream unreadable). It takes the place of NIO's own
/// handler, which answers a bare `400` that nginx's `auth_request` turns into a 500. As there, an
/// answer can only be sent when no other has begun; this handler watches the writes for that.
/// Once per connection: the first failure is the refusal, and the connection ends with it.
final class HTTPParseErrorHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: HTTPMetrics
    private let logger: Logger
    /// Whether an answer's head has been written and its end not yet.
    private var answering = false
    /// Whether an answer that ends the connection (`connection: close`) has been written.
    private var closing = false
    /// Whether this connection's parse failure has been dealt with: the parser can report one
    /// failure twice (an HTTP version it does not take), and it is one refusal.
    private var refused = false

    init(metrics: HTTPMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Bytes that came after the parser failed. The failure itself is answered when NIO's
        // pipeline handler passes it on, after any answer in flight; passing this error on would
        // have the connection closed now, and that answer lost with its use already spent.
        if let decoderError = error as? ByteToMessageDecoderError, case .dataReceivedInErrorState = decoderError {
            return
        }
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // HTTPHandler closes the connection on any error: after this answer, if there is one.
        defer { context.fireErrorCaught(error) }
        // A client that went away mid-request (or was timed out) is not refused: nobody is there.
        // After an answer that ends the connection, what follows is not read.
        guard !refused, !closing, parserError != .invalidEOFState, context.channel.isActive else { return }
        refused = true
        let reason = Self.reason(parserError)
        logger.warning(
            "http request refused",
            metadata: [
                "client": "\(HTTPHandler.auditName(of: context.channel))", "outcome": "ERR", "reason": "\(reason)",
            ])
        metrics.record(endpoint: "unparsed", outcome: "ERR", seconds: nil)
        guard !answering else { return }
        let body = "ERR the request is not HTTP/1.1 presignd can read: \(reason)\n"
        var headers = HTTPHeaders()
        headers.add(name: "x-presign-deny", value: "ERR")
        headers.add(name: "cache-control", value: "no-store")
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "connection", value: "close")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .forbidden, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200:  // (a 1xx is not the answer)
            answering = true
            if head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
                closing = true
            }
        case .end: answering = false
        case .head, .body: break
        }
        context.write(data, promise: promise)
    }

    /// What was wrong, in words a client's operator can act on (never the request's bytes).
    static func reason(_ error: HTTPParserError) -> String {
        switch error {
        case .headerOverflow: "the headers are over the endpoint's size limits"
        case .invalidMethod: "the method is not a valid HTTP token"
        case .invalidURL: "the request target is not a valid URI"
        case .invalidVersion: "the HTTP version is not valid"
        case .invalidHeaderToken: "a header line is not `name: value`"
        case .invalidContentLength, .unexpectedContentLength: "the Content-Length is not valid"
        case .invalidChunkSize: "the chunked body is not valid"
        default: "the request is malformed"
        }
    }
}
