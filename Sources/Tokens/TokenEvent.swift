/// One invalidation event as the Stream keeps it: its id and its one-line JSON payload
/// (PROTOCOL.md, "Events"). The payload is passed on as Redis holds it, never rebuilt.
package struct TokenEvent: Sendable, Hashable {
    /// The Stream entry id; what `REPLAY` takes.
    package var id: EventID
    /// `{"event":"revoked","id":…,"bucket":…,"key":…,"reason":…,"by":…,"at":…}`.
    package var payload: String

    package init(id: EventID, payload: String) {
        self.id = id
        self.payload = payload
    }
}
