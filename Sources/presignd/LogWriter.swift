import Dispatch
import Synchronization

/// Writes log lines to a file descriptor from a queue of its own, so that logging costs the event
/// loop a buffer append and never a `write(2)`, and a reader that stops reading (a full pipe)
/// cannot stall requests. The queue writes `lingerTime` after the first line of a batch, so the
/// lines of busy moments (an audit line per request) leave many to one `write(2)`, for one wake-up
/// of the queue's thread: writing each line as it came cost about a third of the audit trail.
///
/// The buffer is bounded (`maxBufferedBytes`); lines beyond it are dropped and counted, and a
/// notice saying how many goes out once the output takes lines again. `flush()` at exit writes
/// every line so far. A crash loses what was not written yet (at most about `lingerTime` of lines,
/// unless the output is stalled).
final class LogWriter: Sendable {
    private struct State {
        var buffer: [UInt8] = []
        var dropped = 0
        var droppedTotal = 0
        var draining = false
    }

    /// How many bytes may wait for the output.
    static let maxBufferedBytes = 8 << 20
    /// How long the first line of a batch waits for others before the batch is written.
    static let lingerTime = DispatchTimeInterval.milliseconds(2)

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
                state.droppedTotal += 1
                return false
            }
            state.buffer.append(contentsOf: line.utf8)
            if state.draining { return false }
            state.draining = true
            return true
        }
        if startDrain { queue.asyncAfter(deadline: .now() + Self.lingerTime) { self.drain() } }
    }

    /// Lines dropped since start because the output did not take them fast enough.
    var droppedLines: Int { state.withLock { $0.droppedTotal } }

    /// Returns once every line queued before the call is written.
    func flush() {
        queue.sync { drain() }
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
