import Synchronization

/// How far back each of several identical ISSUEs in one second is signed.
///
/// Identical ISSUEs (same profile, method, bucket, key, TTL, signed headers and parameters) signed
/// in the same second would be the same URL, and the URL is the token. So the first is signed as
/// of now (offset 0) and each later one `offset` seconds earlier, valid as much longer, so that it
/// ends at the same moment. Once the store has refused an ISSUE's URL as taken, this instance
/// follows that URL for the rest of the second and hands its later ones offsets from memory, so
/// that the n-th identical ISSUE of a second costs one Redis call, not n: each an offset picked at
/// random among those not yet handed out, so that another instance issuing the same URL rarely
/// picks the same (a collision costs one more call, and another offset is picked).
///
/// Memory: an entry of 120 bytes per URL issued more than once in the current second on this
/// instance, at most `maxTracked`; the table empties when the second changes. URLs issued once
/// are looked up, never kept.
package final class IdenticalIssues: Sendable {
    /// The furthest back a URL is signed: 15 minutes, so one second serves up to 900 identical
    /// ISSUEs. S3 refuses presigned URLs dated in the future, not in the past.
    package static let maxOffset = 899
    /// URLs followed in one second; past it, later identical ISSUEs find their offset by trying one
    /// after the other, as the store refuses each taken one.
    static let maxTracked = 10_000

    private static let words = (maxOffset + 64) / 64

    private struct State {
        var second: Int64 = 0
        /// Per URL followed (its token id at offset 0): a bit per offset taken, 0 included.
        var taken: [String: [UInt64]] = [:]
    }

    private let state = Mutex(State())

    /// What the next try of an identical ISSUE signs with.
    enum Pick: Equatable {
        /// This offset.
        case offset(Int)
        /// Every offset of the second is handed out: nothing to try.
        case exhausted
        /// Not followed here (the table full, or the second already past): try the offset after
        /// the last one tried.
        case unfollowed
    }

    /// The next try of an ISSUE signed in `second` whose URL, as of then, has token id `id`;
    /// `refused` is the offset its last try found taken, if any. Offset 0 for a URL not followed
    /// and not refused; else one not handed out before.
    func pick(for id: String, second: Int64, refused: Int?) -> Pick {
        state.withLock { state in
            if second > state.second { state = State(second: second) }
            guard second == state.second else { return .unfollowed }
            var taken: [UInt64]
            if let followed = state.taken[id] {
                taken = followed
            } else {
                guard let refused else { return .offset(0) }
                guard state.taken.count < Self.maxTracked else { return .unfollowed }
                taken = [1] + Array(repeating: 0, count: Self.words - 1)
                taken[refused / 64] |= 1 << UInt64(refused % 64)
            }
            guard let offset = Self.untaken(in: taken, from: Int.random(in: 1...Self.maxOffset)) else {
                state.taken[id] = taken
                return .exhausted
            }
            taken[offset / 64] |= 1 << UInt64(offset % 64)
            state.taken[id] = taken
            return .offset(offset)
        }
    }

    /// The first offset at or after `start` (wrapping past `maxOffset` to 1) whose bit is clear.
    private static func untaken(in taken: [UInt64], from start: Int) -> Int? {
        for step in 0..<maxOffset {
            let offset = (start - 1 + step) % maxOffset + 1
            if taken[offset / 64] & (1 << UInt64(offset % 64)) == 0 { return offset }
        }
        return nil
    }
}
