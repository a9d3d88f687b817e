#if canImport(Glibc)
    import Glibc
#endif

/// Tells systemd about the daemon's state (`Type=notify`): one datagram per message to the Unix
/// socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace), the protocol
/// of sd_notify(3) without linking libsystemd. Without `$NOTIFY_SOCKET` (not run by systemd)
/// every call does nothing.
struct SystemdNotifier: Sendable {
    /// The socket address as given, nil when not under systemd.
    let socketPath: String?

    /// The notifier for this process's `$NOTIFY_SOCKET`.
    static var fromEnvironment: SystemdNotifier {
        SystemdNotifier(notifySocket: getenv("NOTIFY_SOCKET").map { String(cString: $0) })
    }

    init(notifySocket: String?) {
        let value = notifySocket ?? ""
        // Only paths and abstract names are sd_notify addresses (vsock ones are not supported here).
        socketPath = value.hasPrefix("/") || value.hasPrefix("@") ? value : nil
    }

    /// The service is up and serving (also after a reload).
    func ready(status: String) {
        send("READY=1\nSTATUS=\(status)")
    }

    /// A reload (SIGHUP) has begun; `ready` ends it. MONOTONIC_USEC lets systemd match the two.
    func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        send("RELOADING=1\nMONOTONIC_USEC=\(Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000)")
    }

    /// Shutdown has begun.
    func stopping() {
        send("STOPPING=1")
    }

    /// Sends one datagram; errors are ignored, as sd_notify's callers do: a missed notification
    /// must not stop the daemon, and systemd's own timeouts cover a lost READY.
    func send(_ message: String) {
        guard let socketPath else { return }
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // abstract namespace: leading NUL, no terminator
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path)
        }
        // A path needs its terminating NUL counted; an abstract name is exactly its bytes.
        let length = MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1)
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(descriptor, &bytes, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, socklen_t(length))
            }
        }
    }
}
