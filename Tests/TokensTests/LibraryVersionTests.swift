import Foundation
import Redis
import TestSupport
import Testing
import Tokens

/// A rolling upgrade runs daemons of two versions on one Redis, each through its own Function
/// library. `Resources/presignd_v4.lua` is the previous library exactly as that version loads it
/// (`presignd function-library` at 812bebd, the last commit with v4); these tests run it beside the
/// current one.
@Suite("Function library versions side by side (rolling upgrade)")
struct LibraryVersionTests {
    static func previousLibrary() throws -> String {
        let url = try #require(Bundle.module.url(forResource: "presignd_v4", withExtension: "lua"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test("a token created through either version is consumed, leased and committed through the other")
    func bothVersionsServeTheSameTokens() async throws {
        try await TokenFixture.with(prefix: "presign:") { fixture in
            #expect(try await fixture.client.send(["FUNCTION", "LOAD", try Self.previousLibrary()]).string == "presignd_v4")
            let keyspace = try TokenKeyspace(prefix: "presign:")
            let photo = TokenObject(bucket: "photos", key: "users/1/avatar.png")

            // Created by the current daemon, consumed by an old one, then by the current one.
            let new = try await fixture.created(uses: 3)
            let newKey = try keyspace.token(new.id)
            #expect(
                try await fixture.client.send(["FCALL", "presignd_v4_consume", "1", newKey, "GET"]).array?.first
                    == .integer(2))
            let spent = try await fixture.store.consume(id: new.id, method: "GET")
            #expect(spent.usesLeft == 1)
            #expect(spent.object == photo)

            // Created by an old daemon (its ISSUE's create call, its object set under the old name), then leased by an
            // old daemon and committed by the current one, and consumed by the current one.
            let old = try fixture.newToken(uses: 2)
            let oldKey = try keyspace.token(old.id)
            let created = try await fixture.client.send([
                "FCALL", "presignd_v4_create", "2", oldKey, try keyspace.legacyObject(bucket: old.bucket, key: old.key),
                String(old.uses), old.method, old.bucket, old.key, old.profile, String(old.issuedAt),
                String(old.expiresAt), old.issuer, "",
            ])
            #expect(created == .simpleString("OK"))
            let nonce = "abcdefghijklmnop"
            let ends = try await fixture.client.send(["FCALL", "presignd_v4_reserve", "1", oldKey, "", "60000", nonce])
            #expect(ends.array?.first?.integer != nil)
            #expect(try await fixture.store.commit(lease: old.id + "." + nonce) == photo)
            let last = try await fixture.store.consume(id: old.id, method: nil)
            #expect(last.usesLeft == 0)
            #expect(last.object == photo)
            #expect(await denial { try await fixture.store.consume(id: old.id, method: nil) } == .used)
            #expect(try await fixture.client.send(["FCALL", "presignd_v4_consume", "1", oldKey, ""]).errorMessage?.hasPrefix("USED") == true)

            // Both versions report the same record.
            let record = try #require(try await fixture.store.check(id: old.id))
            #expect(record.state == .spent && record.usesLeft == 0 && record.usesMax == 2)
            #expect(try fixture.server.cli("FUNCTION", "LIST").contains(FunctionLibrary.standard.name))
        }
    }

    @Test("REVOKE TAG and OBJECT revoke the URLs an old daemon indexed in its plain sets, and the new ones")
    func revocationReadsOldIndexSets() async throws {
        try await TokenFixture.with(prefix: "presign:") { fixture in
            #expect(try await fixture.client.send(["FUNCTION", "LOAD", try Self.previousLibrary()]).string == "presignd_v4")
            let keyspace = try TokenKeyspace(prefix: "presign:")
            // Issued by an old daemon: its create call with its own set names.
            func createdByOldDaemon(key: String, tags: [String]) async throws -> NewToken {
                let token = try fixture.newToken(key: key, tags: tags)
                let sets = try [keyspace.legacyObject(bucket: token.bucket, key: token.key)] + tags.map(keyspace.legacyTag)
                let created = try await fixture.client.send(
                    ["FCALL", "presignd_v4_create", String(1 + sets.count), try keyspace.token(token.id)] + sets + [
                        String(token.uses), token.method, token.bucket, token.key, token.profile,
                        String(token.issuedAt), String(token.expiresAt), token.issuer, tags.joined(separator: ","),
                    ])
                #expect(created == .simpleString("OK"))
                return token
            }
            let old = [
                try await createdByOldDaemon(key: "a.png", tags: ["launch"]),
                try await createdByOldDaemon(key: "b.png", tags: ["launch", "eu"]),
            ]
            let new = try await fixture.created(key: "a.png", tags: ["launch"])
            let oldObject = try await createdByOldDaemon(key: "c.png", tags: [])
            let newObject = try await fixture.created(key: "c.png")
            #expect(try fixture.server.cli("TYPE", "presign:g:{launch}") == "set")
            #expect(try fixture.server.cli("TYPE", "presign:gz:{launch}") == "zset")

            #expect(try await fixture.store.revokeTag("launch", by: "ops", reason: "ended") == 3)
            #expect(try await fixture.store.revokeObject(bucket: "photos", key: "c.png", by: "ops", reason: "") == 2)
            for token in old + [new, oldObject, newObject] {
                #expect(try await fixture.store.check(id: token.id)?.state == .revoked)
            }
            // One event each, and the revoked ids left both kinds of set.
            #expect(try fixture.server.cli("XLEN", "presign:events") == "5")
            #expect(try fixture.server.cli("EXISTS", "presign:g:{launch}", "presign:gz:{launch}") == "0")
            #expect(try await fixture.store.revokeTag("launch", by: "ops", reason: "again") == 0)
        }
    }

    @Test("consume, reserve, commit and release answer the token's bucket and key")
    func decisionsNameTheObject() async throws {
        try await TokenFixture.with { fixture in
            let object = TokenObject(bucket: "photos", key: "reports/2026 Q3/ü.pdf")
            let token = try await fixture.created(uses: 3, key: object.key)
            #expect(try await fixture.store.consume(id: token.id, method: nil).object == object)
            let first = try await fixture.store.reserve(id: token.id, method: "GET", leaseMillis: 60_000)
            let second = try await fixture.store.reserve(id: token.id, method: nil, leaseMillis: 60_000)
            #expect(first.object == object && second.object == object)
            #expect(try await fixture.store.commit(lease: first.lease) == object)
            #expect(try await fixture.store.release(lease: second.lease) == object)
            #expect(try await fixture.store.consume(id: token.id, method: nil).usesLeft == 0)
        }
    }
}
