import NIOCore

/// Token state: created when a URL is presigned, checked and consumed by gateways, revoked by admins.
///
/// Every method is one atomic step. A store never reports success it did not see: when the outcome
/// is unknown (Redis did not answer in time) the call throws `.unavailable`.
package protocol TokenStore: Sendable {
    /// Makes the store ready (for Redis: loads the Function library).
    func prepare() async throws(TokenError)

    /// Succeeds when the store can serve right now (for Redis: it answers and the Function
    /// library is loaded); `.unavailable` otherwise. Changes nothing.
    func ready() async throws(TokenError)

    /// Stores a new token; `.exists` if the id is taken, `.expired` if `expiresAt` has passed.
    func create(_ token: NewToken) async throws(TokenError)

    /// `create`, for a caller on `eventLoop`: the future completes there.
    func create(_ token: NewToken, on eventLoop: any EventLoop) -> EventLoopFuture<Void>

    /// Spends one use and returns the uses still available, with the token's object. Denials:
    /// `.used`, `.reserved`, `.revoked`, `.expired`, `.unknown`, `.mismatch` (when `method` is given
    /// and differs).
    @discardableResult
    func consume(id: String, method: String?) async throws(TokenError) -> Consumption

    /// `consume`, for a caller on `eventLoop` (a connection's handler): the future completes there.
    func consume(id: String, method: String?, on eventLoop: any EventLoop) -> EventLoopFuture<Consumption>

    /// Holds one use for `leaseMillis` (capped at the token's expiry) and returns the lease, to be
    /// passed to `commit` or `release`. Denials as for `consume`.
    func reserve(id: String, method: String?, leaseMillis: Int64) async throws(TokenError) -> Reservation

    /// `reserve`, for a caller on `eventLoop`.
    func reserve(id: String, method: String?, leaseMillis: Int64, on eventLoop: any EventLoop)
        -> EventLoopFuture<Reservation>

    /// Spends the use a lease holds and returns the token's object. `.unknown` if the lease ran out,
    /// was already committed or released, or never existed (a lease that ran out gave its use back);
    /// `.revoked` if the token was revoked meanwhile.
    @discardableResult
    func commit(lease: String) async throws(TokenError) -> TokenObject

    /// Gives the use a lease holds back and returns the token's object. `.unknown` if the lease is
    /// not held any more.
    @discardableResult
    func release(lease: String) async throws(TokenError) -> TokenObject

    /// `commit` (when `commit`) or `release`, for a caller on `eventLoop`.
    func settle(lease: String, commit: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<TokenObject>

    /// The token's record, or nil if there is none (never issued, or expired and gone).
    func check(id: String) async throws(TokenError) -> TokenRecord?

    /// Revokes one token and publishes one event. Returns false if it was not active (spent,
    /// already revoked, or missing).
    func revoke(id: String, by: String, reason: String) async throws(TokenError) -> Bool

    /// Revokes every active token of an object, one event each; returns how many.
    func revokeObject(bucket: String, key: String, by: String, reason: String) async throws(TokenError) -> Int

    /// Revokes every active token with a tag, one event each; returns how many.
    func revokeTag(_ tag: String, by: String, reason: String) async throws(TokenError) -> Int
}
