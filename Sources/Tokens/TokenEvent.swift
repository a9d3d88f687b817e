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

    /// The payload with the event id as its first field, `{"event_id":"<id>",…}`: what presignd
    /// hands to its subscribers, so that a subscriber knows which id to `REPLAY` from after a
    /// disconnect. (The Function library writes the payload before `XADD` picks the id, so the
    /// stored payload cannot hold it.)
    package var payloadWithID: String {
        guard payload.utf8.first == UInt8(ascii: "{") else { return payload }
        let rest = payload.utf8.dropFirst()
        let separator = rest.first == UInt8(ascii: "}") ? "" : ","
        return "{\"event_id\":\"\(id)\"" + separator + String(decoding: rest, as: UTF8.self)
    }
}
