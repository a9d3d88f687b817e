import Dispatch
import Synchronization

/// Writes log lines to a file descriptor from a queue of its own, so that logging costs the event
/// loop a buffer append and never a `write(2)`: lines that arrive while one write is under way
/// leave together in the next, and a reader that stops reading (a full pipe) cannot stall requests.
///
/// The buffer is bounded (`maxBufferedBytes`); lines beyond it are dropped and counted, and a
/// notice saying how many goes out once the output takes lines again. `flush()` at exit waits
/// until every line so far is written. A crash loses what was not written yet.
final class LogWriter: Sendable {
    private struct State {
        var buffer: [UInt8] = []
        var dropped = 0
        var draining = false
    }

    /// How many bytes may wait for the output.
    static let maxBufferedBytes = 8 << 20

    private let output: FileOutput
    private let dropNotice: @Sendable (Int) -> String
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "presignd.log")

    /// A writer to `output`; `dropNotice(n)` is the line that reports `n` dropped lines.
    init(output: FileOutput, dropNotice: @escaping @Sendable (Int) -> String) {
        self.output = output
        self.dropNotice = dropNotice
    }

    /// Queues `line` (newline included) for writing.
    func write(_ line: String) {
        let startDrain = state.withLock { state -> Bool in
            guard state.buffer.count + line.utf8.count <= Self.maxBufferedBytes else {
                state.dropped += 1
                return false
            }
            state.buffer.append(contentsOf: line.utf8)
            if state.draining { return false }
            state.draining = true
            return true
        }
        if startDrain { queue.async { self.drain() } }
    }

    /// Returns once every line queued before the call is written.
    func flush() {
        queue.sync {}
    }

    private func drain() {
        while true {
            let (bytes, dropped) = state.withLock { state -> ([UInt8], Int) in
                if state.buffer.isEmpty && state.dropped == 0 {
                    state.draining = false
                    return ([], 0)
                }
                // The buffer is handed over whole; lines that come meanwhile start a new one.
                defer {
                    state.buffer = []
                    state.dropped = 0
                }
                return (state.buffer, state.dropped)
            }
            if bytes.isEmpty && dropped == 0 { return }
            if dropped > 0 { output.write(dropNotice(dropped)) }
            output.write(bytes)
        }
    }
}
