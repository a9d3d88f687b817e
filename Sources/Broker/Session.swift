import Synchronization
import Wire

/// What the broker knows about one connection. Owned by the connection and changed only by
/// commands dispatched in order on its event loop (AUTH, HELLO), so a pipelined `AUTH` is seen
/// by the commands after it.
package struct Session: Sendable {
    /// The authenticated client, or the open client on an open listener; nil until AUTH.
    package var client: ClientPolicy?
    /// RESP2 until `HELLO 3`.
    package var protocolVersion: RESPVersion = .resp2
    /// Set by QUIT: the connection closes after this reply.
    package var closeAfterReply = false
    /// Subscribed to `invalidations`. Under RESP2 the connection then only takes the commands
    /// Redis allows in subscribed mode.
    package var subscribed = false
    /// After a MULTI (refused: presignd has no transactions), until EXEC or DISCARD: every
    /// command is refused, so none of a client's transaction runs.
    package var inRefusedTransaction = false

    /// The connection's number, unique in this process and never reused, as Redis's `CLIENT ID`:
    /// what HELLO answers as `id`.
    package let connectionID: Int

    package init(client: ClientPolicy? = nil) {
        self.client = client
        connectionID = Self.lastConnectionID.add(1, ordering: .relaxed).newValue
    }

    private static let lastConnectionID = Atomic<Int>(0)
}
