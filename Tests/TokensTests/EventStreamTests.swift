import Redis
import Testing
import Tokens

@Suite("EventStream: event ids, following, REPLAY and RESYNC on real Redis")
struct EventStreamTests {
    @Test(
        "event ids parse as XRANGE takes them and nothing else",
        arguments: [
            ("0-0", EventID.zero), ("0", EventID.zero), ("1764403200123-7", EventID(milliseconds: 1_764_403_200_123, sequence: 7)),
            ("18446744073709551615-18446744073709551615", EventID(milliseconds: .max, sequence: .max)),
        ])
    func parses(text: String, expected: EventID) {
        #expect(EventID(text) == expected)
        #expect(EventID(expected.description) == expected)
    }

    @Test(
        "malformed event ids are refused",
        arguments: ["", "-", "1-", "-1", "1-2-3", "+1", "1 ", "a-1", "18446744073709551616-0", "٣-0"])
    func refuses(text: String) {
        #expect(EventID(text) == nil)
    }

    @Test("ids order by time, then sequence")
    func orders() {
        #expect(EventID(milliseconds: 1, sequence: 9) < EventID(milliseconds: 2, sequence: 0))
        #expect(EventID(milliseconds: 2, sequence: 0) < EventID(milliseconds: 2, sequence: 1))
    }

    @Test("delivered payloads carry their event id first")
    func payloadWithID() {
        let id = EventID(milliseconds: 5, sequence: 1)
        #expect(TokenEvent(id: id, payload: #"{"event":"revoked"}"#).payloadWithID == #"{"event_id":"5-1","event":"revoked"}"#)
        #expect(TokenEvent(id: id, payload: "{}").payloadWithID == #"{"event_id":"5-1"}"#)
    }

    @Test(
        "an event's object is read from its payload's bucket and key, escapes resolved",
        arguments: [
            (#"{"event":"revoked","id":"x","bucket":"b","key":"k","at":17}"#, "b", "k"),
            (#"{"bucket":"b","key":"a\"q\\b\u0001\/\n"}"#, "b", "a\"q\\b\u{1}/\n"),
            (#"{"key":"é/ü","bucket":"b"}"#, "b", "é/ü"),
            (#"{"bucket":"b","key":"\ud83d\ude00"}"#, "b", "\u{1F600}"),
        ])
    func object(payload: String, bucket: String, key: String) {
        let object = TokenEvent(id: .zero, payload: payload).object
        #expect(object?.bucket == bucket)
        #expect(object?.key == key)
    }

    @Test(
        "a payload that is not a flat object holding both has no object",
        arguments: [
            "", "{}", #"{"bucket":"b"}"#, #"{"bucket":"b","key":"k""#, #"{"bucket":"b","key":"k"} "#,
            #"{"bucket":"b","key":"k",}"#, #"{"bucket":"b","key":{"k":1}}"#, #"{"bucket":"b","key":"\ud800"}"#, #"{"bucket":"b","key":"\ud83dx"}"#, #"{"bucket":"b","key":"\ude00"}"#,
            #"{"bucket":"b","key":"\u00zz"}"#, #"{"bucket":"b","key":"\q"}"#, "{\"bucket\":\"b\",\"key\":\"a\u{1}\"}",
            #"{"bucket":"b","key":true}"#, #"["bucket","b","key","k"]"#,
        ])
    func noObject(payload: String) {
        #expect(TokenEvent(id: .zero, payload: payload).object == nil)
    }

    @Test("replay returns the events after an id in order; read follows from the last id")
    func replayAndRead() async throws {
        try await TokenFixture.with { fixture in
            let stream = EventStream(client: fixture.client, keyspace: fixture.store.keyspace)
            #expect(try await stream.lastID() == .zero)
            #expect(try await stream.replay(after: .zero, count: 100) == .events([]))
            guard case .resync = try await stream.replay(after: EventID(milliseconds: 1, sequence: 0), count: 100) else {
                Issue.record("an id with no stream behind it must RESYNC")
                return
            }
            var tokens: [String] = []
            for _ in 0..<4 {
                let token = try await fixture.created()
                #expect(try await fixture.store.revoke(id: token.id, by: "admin", reason: "test"))
                tokens.append(token.id)
            }
            guard case .events(let all) = try await stream.replay(after: .zero, count: 100) else {
                Issue.record("expected events")
                return
            }
            #expect(all.map { $0.payload.contains(#""id":"\#(tokens[0])""#) } == [true, false, false, false])
            #expect(all.map(\.id) == all.map(\.id).sorted())
            #expect(try await stream.replay(after: all[1].id, count: 100) == .events(Array(all[2...])))
            #expect(try await stream.replay(after: all[1].id, count: 1) == .events([all[2]]))
            #expect(try await stream.lastID() == all[3].id)
            // Something already there comes at once, without blocking.
            #expect(try await stream.read(after: all[2].id, count: 10, blockMilliseconds: 100) == [all[3]])
            #expect(try await stream.read(after: all[3].id, count: 10, blockMilliseconds: 10) == [])
            guard case .resync = try await stream.replay(after: EventID(milliseconds: .max, sequence: 0), count: 1) else {
                Issue.record("an id newer than the stream must RESYNC")
                return
            }
        }
    }

    /// Appends `count` events to the fixture's stream directly; their ids, oldest first.
    private static func addEvents(_ count: Int, _ fixture: TokenFixture) async throws -> [String] {
        var ids: [String] = []
        for index in 0..<count {
            let event = "{\"n\":\(index)}"
            ids.append(try await fixture.client.send(["XADD", fixture.store.keyspace.events, "*", "event", event]).string ?? "")
        }
        return ids
    }

    @Test("replay answers RESYNC once the stream is trimmed past the id, and not for ids it still reaches")
    func resyncAfterTrim() async throws {
        try await TokenFixture.with { fixture in
            let stream = EventStream(client: fixture.client, keyspace: fixture.store.keyspace)
            let key = fixture.store.keyspace.events
            let ids = try await Self.addEvents(10, fixture)
            _ = try await fixture.client.send(["XTRIM", key, "MAXLEN", "=", "5"])
            for stale in [EventID.zero, EventID(ids[0])!, EventID(ids[3])!] {
                guard case .resync = try await stream.replay(after: stale, count: 100) else {
                    Issue.record("\(stale) is past the trim and must RESYNC")
                    return
                }
            }
            guard case .events(let kept) = try await stream.replay(after: EventID(ids[5])!, count: 100) else {
                Issue.record("the stream still reaches back to \(ids[5])")
                return
            }
            #expect(kept.map(\.id.description) == Array(ids[6...]))
        }
    }

    @Test("after Redis lost the stream, an id from before the loss answers RESYNC though new events exist")
    func resyncAfterDataLoss() async throws {
        try await TokenFixture.with { fixture in
            let stream = EventStream(client: fixture.client, keyspace: fixture.store.keyspace)
            let before = try await Self.addEvents(3, fixture)
            // What a Redis restarted without its data, or a failover to a replica that had not
            // received them, leaves: the stream begins again, and its new ids are later ones (a
            // restart takes more than the millisecond the ids count in; within the same one, a new
            // stream's ids would start again at the old ones, and no reader could tell).
            _ = try await fixture.client.send(["DEL", fixture.store.keyspace.events])
            try await Task.sleep(for: .milliseconds(5))
            let after = try await Self.addEvents(2, fixture)
            for stale in before {
                guard case .resync = try await stream.replay(after: EventID(stale)!, count: 100) else {
                    Issue.record("\(stale) is from before the stream began again and must RESYNC")
                    return
                }
            }
            guard case .events(let all) = try await stream.replay(after: .zero, count: 100) else {
                Issue.record("0-0 asks for the whole stream, which is all there")
                return
            }
            #expect(all.map(\.id.description) == after)
            #expect(try await stream.replay(after: EventID(after[0])!, count: 100) == .events([all[1]]))
        }
    }
}
