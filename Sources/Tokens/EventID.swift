/// The id of an invalidation event: its Redis Stream entry id, `<milliseconds>-<sequence>`.
///
/// Ids grow strictly along the Stream, so "the events after X" is well defined and a subscriber
/// only has to remember the last id it handled.
package struct EventID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The Unix time part (ms) Redis gave the entry.
    package var milliseconds: UInt64
    /// The entry's number within its millisecond.
    package var sequence: UInt64

    /// `0-0`: before every entry. Replaying after it asks for the whole Stream.
    package static let zero = EventID(milliseconds: 0, sequence: 0)
    /// The largest id a Stream entry can have.
    package static let max = EventID(milliseconds: .max, sequence: .max)

    package init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// Parses `<ms>-<seq>` or `<ms>` (sequence 0), the forms `XRANGE` accepts; nil for anything
    /// else, including signs, spaces and numbers past 64 bits.
    package init?(_ text: String) {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        func number(_ part: Substring) -> UInt64? {
            guard !part.isEmpty, part.utf8.count <= 20, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return nil
            }
            return UInt64(part)
        }
        guard let milliseconds = number(parts[0]) else { return nil }
        if parts.count == 1 {
            self.init(milliseconds: milliseconds, sequence: 0)
            return
        }
        guard let sequence = number(parts[1]) else { return nil }
        self.init(milliseconds: milliseconds, sequence: sequence)
    }

    package var description: String { "\(milliseconds)-\(sequence)" }

    package static func < (lhs: EventID, rhs: EventID) -> Bool {
        (lhs.milliseconds, lhs.sequence) < (rhs.milliseconds, rhs.sequence)
    }
}
