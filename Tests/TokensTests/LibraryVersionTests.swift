import Foundation
import Redis
import TestSupport
import Testing
import Tokens

/// A rolling upgrade runs daemons of two versions on one Redis, each through its own Function
/// library. `Resources/presignd_v3.lua` is the previous library exactly as that version loads it
/// (`presignd function-library` at 398420c, the last commit with v3); these tests run it beside the
/// current one.
@Suite("Function library versions side by side (rolling upgrade)")
struct LibraryVersionTests {
    static func previousLibrary() throws -> String {
        let url = try #require(Bundle.module.url(forResource: "presignd_v3", withExtension: "lua"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test("a token created through either version is consumed, leased and committed through the other")
    func bothVersionsServeTheSameTokens() async throws {
        try await TokenFixture.with(prefix: "presign:") { fixture in
            #expect(try await fixture.client.send(["FUNCTION", "LOAD", try Self.previousLibrary()]).string == "presignd_v3")
            let keyspace = try TokenKeyspace(prefix: "presign:")
            let photo = TokenObject(bucket: "photos", key: "users/1/avatar.png")

            // Created by the current daemon, consumed by an old one, then by the current one.
            let new = try await fixture.created(uses: 3)
            let newKey = try keyspace.token(new.id)
            #expect(
                try await fixture.client.send(["FCALL", "presignd_v3_consume", "1", newKey, "GET"]).array?.first
                    == .integer(2))
            let spent = try await fixture.store.consume(id: new.id, method: "GET")
            #expect(spent.usesLeft == 1)
            #expect(spent.object == photo)

            // Created by an old daemon (its ISSUE's create call, object set included), then leased by an
            // old daemon and committed by the current one, and consumed by the current one.
            let old = try fixture.newToken(uses: 2)
            let oldKey = try keyspace.token(old.id)
            let created = try await fixture.client.send([
                "FCALL", "presignd_v3_create", "2", oldKey, try keyspace.object(bucket: old.bucket, key: old.key),
                String(old.uses), old.method, old.bucket, old.key, old.profile, String(old.issuedAt),
                String(old.expiresAt), old.issuer, "",
            ])
            #expect(created == .simpleString("OK"))
            let nonce = "abcdefghijklmnop"
            let ends = try await fixture.client.send(["FCALL", "presignd_v3_reserve", "1", oldKey, "", "60000", nonce])
            #expect(ends.array?.first?.integer != nil)
            #expect(try await fixture.store.commit(lease: old.id + "." + nonce) == photo)
            let last = try await fixture.store.consume(id: old.id, method: nil)
            #expect(last.usesLeft == 0)
            #expect(last.object == photo)
            #expect(await denial { try await fixture.store.consume(id: old.id, method: nil) } == .used)
            #expect(try await fixture.client.send(["FCALL", "presignd_v3_consume", "1", oldKey, ""]).errorMessage?.hasPrefix("USED") == true)

            // Both versions report the same record.
            let record = try #require(try await fixture.store.check(id: old.id))
            #expect(record.state == .spent && record.usesLeft == 0 && record.usesMax == 2)
            #expect(try fixture.server.cli("FUNCTION", "LIST").contains("presignd_v4"))
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
