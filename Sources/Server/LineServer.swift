import Broker
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Wire

/// The line-protocol listeners (TCP and Unix socket) and their connections.
package final class LineServer: Sendable {
    private let broker: Broker
    private let configuration: LineServerConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    /// The broker's count of line-protocol connections (INFO reports it), over every listener.
    private var counter: ConnectionCounter { broker.lineConnections }
    private let listeners = ListenerSet()
    /// The socket file this server made, removed at shutdown only if it is still that file.
    private let socketFile = Mutex<UnixSocketFile?>(nil)

    package init(broker: Broker, configuration: LineServerConfiguration, group: any EventLoopGroup, logger: Logger) {
        self.broker = broker
        self.configuration = configuration
        self.group = group
        self.logger = logger
    }

    /// Open connections right now.
    package var connectionCount: Int { counter.current }

    /// The bound TCP port (useful with port 0), if TCP is on.
    package var tcpPort: Int? { listeners.port }

    /// Binds the configured listeners.
    package func start() async throws {
        if let tcp = configuration.tcp {
            let channel: any Channel
            do {
                channel = try await bootstrap(open: configuration.tcpOpen)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                    .bind(host: tcp.host, port: tcp.port).get()
            } catch {
                throw ListenError(listener: "listen.tcp \(tcp.host):\(tcp.port)", problem: "\(error)")
            }
            listeners.add(listener: channel)
            logger.info(
                "listening",
                metadata: ["listener": "tcp", "address": "\(tcp.host):\(channel.localAddress?.port ?? tcp.port)"])
        }
        if let path = configuration.unixSocket {
            // A socket file left by a crash is replaced; one a running server answers on is not.
            if UnixSocketFile.isInUse(path) {
                throw ListenError(listener: "listen.unix \(path)", problem: "another process is listening on it")
            }
            let channel: any Channel
            do {
                channel = try await bootstrap(open: configuration.unixOpen)
                    .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            } catch {
                throw ListenError(listener: "listen.unix \(path)", problem: "\(error)")
            }
            socketFile.withLock { $0 = UnixSocketFile(at: path) }
            chmod(path, mode_t(configuration.unixSocketMode))
            listeners.add(listener: channel)
            logger.info("listening", metadata: ["listener": "unix", "path": "\(path)"])
        }
    }

    private func bootstrap(open: Bool) -> ServerBootstrap {
        let broker = self.broker
        let configuration = self.configuration
        let counter = self.counter
        let logger = self.logger
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            // One read (up to 64 KiB) per turn of the event loop: a client that pipelines heavily
            // gets its turn, then the others theirs (ConnectionHandler also takes at most 256
            // requests a turn).
            .childChannelOption(.maxMessagesPerRead, value: 1)
            // Reads are driven by ConnectionHandler, which holds them while a client lags.
            .childChannelOption(.autoRead, value: true)
            // A client that half-closes still gets the replies it is owed.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [weak self] channel in
                let session = Session(client: open ? ClientPolicy.open(id: "open") : nil)
                let handler = ConnectionHandler(
                    broker: broker, session: session, configuration: configuration, counter: counter, logger: logger)
                self?.listeners.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(readTimeout: TimeAmount(configuration.idleTimeout)),
                        handler,
                    ])
                }
            }
    }

    /// Graceful shutdown: stop accepting, let every connection finish what is in flight (up to
    /// `timeout`), then close whatever is left.
    package func shutdown(timeout: Duration = .seconds(10)) async {
        await listeners.closeListeners()
        if let path = configuration.unixSocket, let made = socketFile.withLock({ $0 }), UnixSocketFile(at: path) == made
        {
            unlink(path)
        }
        await listeners.drainConnections(timeout: timeout)
        logger.info("line protocol stopped")
    }

    /// Closes every connection now, without waiting for requests in flight: a `shutdown` under
    /// way returns as soon as they are closed.
    package func closeConnections() {
        listeners.closeConnections()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// A listener that could not be bound, named as the configuration names it.
package struct ListenError: Error, CustomStringConvertible {
    let listener: String
    let problem: String
    package var description: String { "\(listener): \(problem)" }
}
