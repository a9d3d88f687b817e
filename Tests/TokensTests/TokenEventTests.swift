import Foundation
import Subprocesses
import TestSupport
import Testing
import Tokens

@Suite("RedisTokenStore: revocation events")
struct TokenEventTests {
    @Test("each revoked token gives exactly one stream entry and one published message, same payload")
    func oneEventPerRevokedToken() async throws {
        try await TokenFixture.with { fixture in
            let store = fixture.store
            let subscriber = try Subscriber(port: fixture.server.port, channel: "test:invalidations")
            defer { subscriber.stop() }
            #expect(
                await eventually(within: .seconds(5)) {
                    (try? fixture.server.cli("PUBSUB", "NUMSUB", "test:invalidations").hasSuffix("1")) == true
                })

            let single = try await fixture.created()
            let tagged = [
                try await fixture.created(tags: ["campaign"]), try await fixture.created(tags: ["x", "campaign"]),
            ]
            let object = [
                try await fixture.created(key: "doc.pdf"), try await fixture.created(uses: 3, key: "doc.pdf"),
            ]
            let otherObject = try await fixture.created(key: "doc.pdf.bak", tags: ["x"])
            let spent = try await fixture.created(tags: ["campaign"])
            _ = try await store.consume(id: spent.id, method: nil)

            #expect(try await store.revoke(id: single.id, by: "admin", reason: "said \"no\"\n"))
            #expect(try await !store.revoke(id: single.id, by: "admin", reason: "again"))
            #expect(try await store.revokeTag("campaign", by: "ops", reason: "ended") == 2)
            #expect(try await store.revokeTag("campaign", by: "ops", reason: "ended") == 0)
            #expect(try await store.revokeObject(bucket: "photos", key: "doc.pdf", by: "ops", reason: "gdpr") == 2)
            #expect(try await store.revokeObject(bucket: "photos", key: "doc.pdf", by: "ops", reason: "gdpr") == 0)
            #expect(try await store.check(id: otherObject.id)?.state == .active)
            #expect(try await store.check(id: spent.id)?.state == .spent)

            // A marker published after the revocations arrives after all their messages.
            try fixture.server.cli("PUBLISH", "test:invalidations", "end")
            #expect(await eventually(within: .seconds(5)) { subscriber.output().contains("\nend") })
            let published = subscriber.output().split(separator: "\n").filter { $0.hasPrefix("{") }.map(String.init)
            let streamed = try fixture.server.cli("XRANGE", "test:events", "-", "+").split(separator: "\n")
                .filter { $0.hasPrefix("{") }.map(String.init)
            #expect(published == streamed)
            let events = try streamed.map {
                try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            // A set's members are revoked in the set's order (by expiry, then id), not creation order.
            let ids = events.map { $0["id"] as? String ?? "" }
            #expect(ids.count == 5 && ids[0] == single.id)
            #expect(Set(ids[1..<3]) == Set(tagged.map(\.id)) && Set(ids[3..<5]) == Set(object.map(\.id)))
            #expect(events.allSatisfy { $0["event"] as? String == "revoked" && $0["bucket"] as? String == "photos" })
            #expect(events[0]["reason"] as? String == "said \"no\"\n" && events[0]["by"] as? String == "admin")
            #expect(events[0]["key"] as? String == "users/1/avatar.png" && (events[0]["at"] as? Int64 ?? 0) > 0)
            #expect(events[3]["reason"] as? String == "gdpr" && events[3]["key"] as? String == "doc.pdf")
            // Field order as PROTOCOL.md writes it, for readers that scan rather than parse.
            #expect(streamed[0].hasPrefix(#"{"event":"revoked","id":"\#(single.id)","bucket":"photos","key":"#))
        }
    }

    @Test("a tag on more tokens than one revoke_set batch: every active one is revoked once, one event each")
    func revocationInBatches() async throws {
        try await TokenFixture.with { fixture in
            let count = RedisTokenStore.revokeBatch * 2 + 37
            // Skiplist-encoded sorted sets (above 128 members) are where ZSCAN really goes in batches.
            var ids: [String] = []
            for _ in 0..<count { ids.append(try await fixture.created(tags: ["big"]).id) }
            let spent = ids[5]
            _ = try await fixture.store.consume(id: spent, method: nil)
            #expect(try await fixture.store.revokeTag("big", by: "ops", reason: "leak") == count - 1)
            #expect(try await fixture.store.revokeTag("big", by: "ops", reason: "again") == 0)
            #expect(try fixture.server.cli("XLEN", "test:events") == String(count - 1))
            let streamed = try fixture.server.cli("XRANGE", "test:events", "-", "+")
            #expect(Set(ids.filter { $0 != spent }.filter { streamed.contains($0) }).count == count - 1)
            #expect(!streamed.contains(spent))
            for id in ids.prefix(3) { #expect(try await fixture.store.check(id: id)?.state == .revoked) }
        }
    }

    @Test("the event stream is trimmed to about the configured length")
    func streamIsTrimmed() async throws {
        try await TokenFixture.with { fixture in
            let store = RedisTokenStore(
                client: fixture.client, keyspace: fixture.store.keyspace, eventStreamMaxLength: 10, logger: quietLogger)
            for _ in 0..<300 {
                let token = try await fixture.created()
                #expect(try await store.revoke(id: token.id, by: "admin", reason: ""))
            }
            // MAXLEN ~ trims whole stream nodes (100 entries each), so the length stays bounded, not exact.
            #expect(try #require(Int(try fixture.server.cli("XLEN", "test:events"))) <= 110)
        }
    }
}

/// `redis-cli SUBSCRIBE` in a child process writing to a file: a real client, as a gateway would use.
final class Subscriber: Sendable {
    let process: ChildProcess
    let path: String

    init(port: Int, channel: String) throws {
        path = try makeTemporaryDirectory(prefix: "presignd-sub") + "/out"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        process = try ChildProcess.spawn(
            "/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", String(port), "SUBSCRIBE", channel], stdoutFD: fd)
    }

    func output() -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    func stop() {
        process.signal(SIGKILL)
        process.wait()
    }
}
