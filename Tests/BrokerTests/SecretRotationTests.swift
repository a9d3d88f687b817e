import Broker
import SigV4
import Testing
import Wire

@Suite("Client secret rotation: two accepted hashes, then the old one dropped by a reload")
struct SecretRotationTests {
    @Test("both secrets authenticate during the overlap; dropping the old hash ends only its sessions")
    func overlap() async throws {
        let old = "old-client-secret-0123456789abcdef"
        let new = "new-client-secret-0123456789abcdef"
        let rotating = ClientPolicy(
            id: "gw", secretSHA256: sha256(Array(old.utf8)), roles: [.gateway],
            alternateSecretSHA256: sha256(Array(new.utf8)))
        let fixture = try await BrokerFixture(clients: [rotating])
        var oldSession = Session()
        var newSession = Session()
        #expect(try await fixture.run("AUTH", "gw", old, session: &oldSession) == .simple("OK"))
        #expect(try await fixture.run("AUTH", "gw", new, session: &newSession) == .simple("OK"))
        var wrong = Session()
        guard case .error("WRONGPASS", _) = try await fixture.run("AUTH", "gw", "neither", session: &wrong) else {
            Issue.record("a third secret was accepted")
            return
        }

        var settings = fixture.broker.settings
        settings.clients["gw"] = ClientPolicy(id: "gw", secretSHA256: sha256(Array(new.utf8)), roles: [.gateway])
        fixture.broker.reload(settings)
        #expect(try await fixture.run("CHECK", "AAAAAAAAAAAAAAAAAAAAAA", session: &newSession) == .null)
        guard case .error("NOAUTH", _) = try await fixture.run("CHECK", "AAAAAAAAAAAAAAAAAAAAAA", session: &oldSession)
        else {
            Issue.record("a session on the dropped secret kept working")
            return
        }
        var again = Session()
        guard case .error("WRONGPASS", _) = try await fixture.run("AUTH", "gw", old, session: &again) else {
            Issue.record("the dropped secret still authenticates")
            return
        }
        await fixture.stop()
    }
}
