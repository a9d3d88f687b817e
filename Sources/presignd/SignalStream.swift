import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// Signals as an async sequence. The handlers are in place when `init` returns, so a signal sent
/// at any moment after that (a `systemctl reload` the instant READY=1 arrives) is delivered, never
/// met by the default action or lost. A handler does only what signal context allows: it writes
/// the signal's number to a pipe. A Dispatch read source turns the pipe's bytes into elements; the
/// bytes wait in the pipe until it has been registered, so none is lost while it is.
///
/// One per process (the daemon's): the handlers and the pipe are process-wide.
struct SignalStream: AsyncSequence {
    typealias Element = Int32
    let stream: AsyncStream<Int32>
    private let sink: AsyncStream<Int32>.Continuation

    init(_ signals: [Int32]) {
        var continuation: AsyncStream<Int32>.Continuation!
        stream = AsyncStream(bufferingPolicy: .bufferingNewest(8)) { continuation = $0 }
        let sink = continuation!
        self.sink = sink
        let readEnd = SignalPipe.open()
        for number in signals {
            precondition((1...255).contains(number), "a signal number travels the pipe as one byte")
            // glibc's signal() has BSD semantics: the handler stays installed and interrupted
            // system calls restart (SA_RESTART).
            signal(number, forwardSignal)
        }
        let source = DispatchSource.makeReadSource(fileDescriptor: readEnd, queue: .global())
        source.setEventHandler {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer in
                while true {
                    let count = read(readEnd, buffer.baseAddress, buffer.count)
                    guard count > 0 else { return }  // EAGAIN: drained
                    for byte in buffer[..<count] { sink.yield(Int32(byte)) }
                }
            }
        }
        source.resume()
        let kept = ReadSource(source)
        sink.onTermination = { _ in kept.cancel() }
    }

    /// Ends the sequence: a loop over it ends once it has taken the signals already received.
    func finish() {
        sink.finish()
    }

    func makeAsyncIterator() -> AsyncStream<Int32>.Iterator { stream.makeAsyncIterator() }
}

/// The write end of the signal pipe, read by the handler; -1 until `SignalPipe.open` sets it,
/// which happens before any handler is installed and never again.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// The signal handler: one byte, the signal's number, into the pipe. `write` is async-signal-safe;
/// a full pipe (thousands of signals nobody read) drops the byte, as the kernel merges pending
/// signals. errno is restored for the code the signal interrupted.
private func forwardSignal(_ number: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(signalPipeWriteEnd, &byte, 1)
    errno = saved
}

private enum SignalPipe {
    /// Creates the pipe (both ends non-blocking and close-on-exec) and returns its read end.
    static func open() -> Int32 {
        precondition(signalPipeWriteEnd == -1, "SignalStream is made once per process")
        var ends: [Int32] = [-1, -1]
        // pipe2 is not in Glibc's Swift overlay; the flags follow at once.
        guard pipe(&ends) == 0 else { fatalError("presignd cannot create its signal pipe: errno \(errno)") }
        for end in ends {
            guard fcntl(end, F_SETFD, FD_CLOEXEC) == 0, fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) == 0
            else {
                fatalError("presignd cannot set up its signal pipe: errno \(errno)")
            }
        }
        signalPipeWriteEnd = ends[1]
        return ends[0]
    }
}

/// Keeps the read source alive for as long as the stream is. Dispatch sources are thread-safe;
/// `cancel` is the only call made on it after setup.
private final class ReadSource: @unchecked Sendable {
    let source: any DispatchSourceRead
    init(_ source: any DispatchSourceRead) { self.source = source }
    func cancel() { source.cancel() }
}
