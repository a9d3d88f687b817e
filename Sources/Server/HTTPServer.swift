import Broker
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP authorize endpoint (PROTOCOL.md "HTTP authorize endpoint"): nginx `auth_request`,
/// Traefik ForwardAuth and Envoy `ext_authz` ask it before forwarding a request to S3.
package final class HTTPServer: Sendable {
    private let broker: Broker
    private let configuration: HTTPServerConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let metrics = HTTPMetrics()
    private let listeners = ListenerSet()
    private let extraMetrics: @Sendable (inout PrometheusText) -> Void

    /// `extraMetrics` appends what other parts of the daemon count (Redis round trips, line
    /// connections) to every `/metrics` answer.
    package init(
        broker: Broker, configuration: HTTPServerConfiguration, group: any EventLoopGroup, logger: Logger,
        extraMetrics: @escaping @Sendable (inout PrometheusText) -> Void = { _ in }
    ) {
        self.broker = broker
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.extraMetrics = extraMetrics
    }

    /// The bound port (useful with port 0), once started.
    package var port: Int? { listeners.port }

    /// Open connections right now.
    package var connectionCount: Int { metrics.connections.current }

    /// Binds the listener.
    package func start() async throws {
        let broker = self.broker
        let configuration = self.configuration
        let metrics = self.metrics
        let extraMetrics = self.extraMetrics
        let logger = self.logger
        let limits = {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = configuration.maxHeaderFieldBytes
            limits.maxHeaderListSize = configuration.maxHeaderBytes
            limits.maxHeaderFieldCount = 256
            return limits
        }()
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { [weak self] channel in
                    self?.listeners.track(channel)
                    return channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        // No reading while answers cannot be written: a client that pipelines
                        // requests and never reads the answers would otherwise queue them without end.
                        try sync.addHandler(BackPressureHandler())
                        try sync.addHandler(IdleStateHandler(readTimeout: TimeAmount(configuration.idleTimeout)))
                        try sync.configureHTTPServerPipeline(
                            withPipeliningAssistance: true, withErrorHandling: false,
                            withOutboundHeaderValidation: true, withEncoderConfiguration: .init(),
                            withDecoderLimitConfiguration: limits)
                        try sync.addHandler(HTTPParseErrorHandler(metrics: metrics, logger: logger))
                        try sync.addHandler(
                            HTTPHandler(
                                broker: broker, metrics: metrics, maxConnections: configuration.maxConnections,
                                requestTimeout: TimeAmount(configuration.idleTimeout), extraMetrics: extraMetrics,
                                logger: logger))
                    }
                }
                .bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw ListenError(listener: "listen.http \(configuration.host):\(configuration.port)", problem: "\(error)")
        }
        listeners.add(listener: channel)
        logger.info(
            "listening",
            metadata: [
                "listener": "http",
                "address": "\(configuration.host):\(channel.localAddress?.port ?? configuration.port)",
            ])
    }

    /// Graceful shutdown: stop accepting, let each connection finish its request (up to
    /// `timeout`), then close whatever is left.
    package func shutdown(timeout: Duration = .seconds(10)) async {
        await listeners.closeListeners()
        await listeners.drainConnections(timeout: timeout)
        logger.info("http endpoint stopped")
    }

    /// Closes every connection now, without waiting for requests in flight: a `shutdown` under
    /// way returns as soon as they are closed.
    package func closeConnections() {
        listeners.closeConnections()
    }
}
