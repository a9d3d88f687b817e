import Foundation

/// Asks the kernel for a free TCP port on 127.0.0.1 by binding port 0 and reading back the
/// port it chose. The socket is closed before returning, so a race with another process is
/// possible but rare; tests that lose it fail at bind with a clear error.
///
/// A port is never handed out twice in one test process: a server a test kills and restarts on
/// its port (a crash test) leaves the port free meanwhile, and the kernel may offer it to a test
/// running in parallel, whose server would then answer the restarted one's clients.
package func freePort() throws -> Int {
    while true {
        let port = try kernelChosenPort()
        if PortsHandedOut.shared.claim(port) { return port }
    }
}

private final class PortsHandedOut: @unchecked Sendable {
    static let shared = PortsHandedOut()
    private let lock = NSLock()
    private var ports: Set<Int> = []

    /// True when `port` had not been handed out before, and records it.
    func claim(_ port: Int) -> Bool {
        lock.withLock { ports.insert(port).inserted }
    }
}

private func kernelChosenPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw RedisServer.Failure(description: "socket() failed: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else { throw RedisServer.Failure(description: "bind() failed: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw RedisServer.Failure(description: "getsockname() failed: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Creates a fresh directory under the system's temporary directory.
package func makeTemporaryDirectory(prefix: String) throws -> String {
    var template = Array((NSTemporaryDirectory() + "/\(prefix).XXXXXX").utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw RedisServer.Failure(description: "mkdtemp failed: errno \(errno)")
    }
    return String(cString: made)
}
