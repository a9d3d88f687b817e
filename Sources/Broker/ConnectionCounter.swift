import Synchronization

/// Counts open connections across listeners, to enforce `maxConnections` (and, for the line
/// protocol, to report `connected_clients` in INFO).
package final class ConnectionCounter: Sendable {
    private let count = Atomic<Int>(0)

    /// Takes a place; false when `limit` places are taken already (the caller must not release).
    package init() {}

    package func acquire(limit: Int) -> Bool {
        let now = count.wrappingAdd(1, ordering: .relaxed).newValue
        if now > limit {
            count.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    package func release() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }

    package var current: Int { count.load(ordering: .relaxed) }
}
