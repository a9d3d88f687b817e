/// What a client may do. PROTOCOL.md: `issue` (ISSUE), `gateway` (CONSUME, RESERVE, COMMIT,
/// RELEASE, CHECK), `admin` (REVOKE, CHECK, SUBSCRIBE, REPLAY, INFO).
package enum Role: String, Sendable, Hashable, CaseIterable, Comparable {
    case issue, gateway, admin

    package static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
}
