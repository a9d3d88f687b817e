import Synchronization

/// Command outcomes counted for INFO (and, later, metrics): how many of each command ended in
/// each way. Bounded: commands and outcomes come from fixed sets.
final class BrokerCounters: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    private static let knownCommands: Set<String> = [
        "ISSUE", "CONSUME", "RESERVE", "COMMIT", "RELEASE", "CHECK", "REVOKE",
    ]

    func record(command: String, outcome: String) {
        let command = Self.knownCommands.contains(command) ? command : "OTHER"
        counts.withLock { $0["\(command.lowercased()):\(outcome)", default: 0] += 1 }
    }

    var snapshot: [(String, Int)] {
        counts.withLock { $0.sorted { $0.key < $1.key } }
    }
}
