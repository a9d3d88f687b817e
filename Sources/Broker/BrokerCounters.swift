import Synchronization

/// Command outcomes counted for INFO (and, later, metrics): how many of each command ended in
/// each way. Bounded: commands and outcomes come from fixed sets.
final class BrokerCounters: Sendable {
    /// Counted by the names as given (no string is built per request); snapshots spell them out.
    private struct Key: Hashable {
        let command: String
        let outcome: String
    }

    private let counts = Mutex<[Key: Int]>([:])
    private static let knownCommands: Set<String> = [
        "ISSUE", "CONSUME", "RESERVE", "COMMIT", "RELEASE", "CHECK", "REVOKE",
    ]

    func record(command: String, outcome: String) {
        let key = Key(command: Self.knownCommands.contains(command) ? command : "OTHER", outcome: outcome)
        counts.withLock { $0[key, default: 0] += 1 }
    }

    /// Every count, the command in lower case, sorted by command and then outcome.
    var snapshot: [(command: String, outcome: String, count: Int)] {
        counts.withLock { counts in counts.map { ($0.key.command.lowercased(), $0.key.outcome, $0.value) } }
            .sorted { ($0.command, $0.outcome) < ($1.command, $1.outcome) }
    }
}
