import NIOCore
import Synchronization

/// The bound listeners of one server and the connections they accepted, so that shutdown can
/// stop accepting, let each connection finish what it has in flight, and close the rest.
final class ListenerSet: Sendable {
    /// Sent to every connection on shutdown: stop reading, finish what is in flight, close.
    struct Drain {}

    private let listeners = Mutex<[any Channel]>([])
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    /// Set by `closeConnections`: a drain starting later does not wait either.
    private let closingNow = Atomic<Bool>(false)

    func add(listener: any Channel) {
        listeners.withLock { $0.append(listener) }
    }

    /// The first bound TCP port (useful with port 0).
    var port: Int? {
        listeners.withLock { channels in channels.lazy.compactMap { $0.localAddress?.port }.first }
    }

    /// Remembers an accepted connection until it closes.
    func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        connections.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.connections.withLock { $0.removeValue(forKey: id) }
        }
    }

    /// Stops accepting: closes every listener.
    func closeListeners() async {
        let servers = listeners.withLock { channels in
            defer { channels = [] }
            return channels
        }
        for server in servers {
            try? await server.close()
        }
    }

    /// Sends `Drain` to every open connection, waits up to `timeout` for them to close, then
    /// closes whatever is left.
    func drainConnections(timeout: Duration) async {
        let open = connections.withLock { Array($0.values) }
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(Drain())
        }
        let deadline = ContinuousClock.now + timeout
        for channel in open {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero || closingNow.load(ordering: .relaxed) { break }
            let timer = channel.eventLoop.scheduleTask(in: TimeAmount(remaining)) { channel.close(promise: nil) }
            try? await channel.closeFuture.get()
            timer.cancel()
        }
        for channel in closeConnections() {
            try? await channel.closeFuture.get()
        }
    }

    /// Starts closing every open connection, requests in flight or not, and returns them; a drain
    /// under way then ends as soon as they are closed.
    @discardableResult
    func closeConnections() -> [any Channel] {
        closingNow.store(true, ordering: .relaxed)
        let open = connections.withLock { Array($0.values) }
        for channel in open {
            channel.close(promise: nil)
        }
        return open
    }
}
