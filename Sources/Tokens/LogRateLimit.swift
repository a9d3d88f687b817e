import Synchronization

/// Lets one log line through per interval and counts the ones held back meanwhile, so a condition
/// that every request meets again (the function library missing, with no right to load it) fills
/// the log with one line per interval rather than one per request.
final class LogRateLimit: Sendable {
    private struct State {
        var lastLogged: ContinuousClock.Instant?
        var suppressed = 0
    }

    private let interval: Duration
    private let state = Mutex(State())

    init(interval: Duration) {
        self.interval = interval
    }

    /// Whether a line may be logged at `now`: nil holds it back (and counts it); otherwise the number
    /// held back since the last line logged, which that line should report.
    func admit(at now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { state in
            if let last = state.lastLogged, now - last < interval {
                state.suppressed += 1
                return nil
            }
            defer {
                state.lastLogged = now
                state.suppressed = 0
            }
            return state.suppressed
        }
    }
}
