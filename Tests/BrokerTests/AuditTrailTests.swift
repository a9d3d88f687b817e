import Broker
import Logging
import NIOCore
import TestSupport
import Testing
import Wire

extension LogRecorder {
    /// The audit trail's lines.
    var audit: [Record] { records.filter { $0.fields["audit"] != nil } }
}

@Suite("Audit trail: one line per state-changing decision, tripwire on reuse, no URL or signature")
struct AuditTrailTests {
    static func bulk(_ reply: Reply, _ name: String) -> String? {
        guard case .map(let pairs) = reply, case .bulk(let value)? = pairs.first(where: { $0.key == .bulk(name) })?.value
        else { return nil }
        return String(buffer: value)
    }

    @Test("issue, consume, reuse, reserve, commit, release, revoke and denials each write one audit line")
    func lines() async throws {
        let recorder = LogRecorder(label: "audit-test")
        let fixture = try await BrokerFixture(logger: recorder.logger)
        var session = Session(client: .open(id: "svc"))
        let key = "reports/q3\nfake=line.pdf"
        let issued = try await fixture.run("ISSUE", "GET", "bkt", key, "USES", "2", "TAG", "t1", session: &session)
        let id = try #require(Self.bulk(issued, "id"))
        let url = try #require(Self.bulk(issued, "url"))
        let signature = try #require(url.split(separator: "X-Amz-Signature=").last.map(String.init))

        #expect(try await fixture.run("CONSUME", url, session: &session) == .integer(1))
        let lease = try await fixture.run("RESERVE", id, session: &session)
        guard case .bulk(let leaseBuffer) = lease else { Issue.record("no lease: \(lease)"); return }
        let leaseText = String(buffer: leaseBuffer)
        #expect(try await fixture.run("RELEASE", leaseText, session: &session) == .simple("OK"))
        let second = try await fixture.run("RESERVE", id, session: &session)
        guard case .bulk(let secondLease) = second else { Issue.record("no lease: \(second)"); return }
        #expect(try await fixture.run("COMMIT", String(buffer: secondLease), session: &session) == .simple("OK"))
        // Spent: a second use is the tripwire.
        guard case .error("USED", _) = try await fixture.run("CONSUME", url, session: &session) else {
            Issue.record("reuse allowed")
            return
        }
        let tampered = String(url.dropLast()) + (url.hasSuffix("0") ? "1" : "0")
        guard case .error("BADSIG", _) = try await fixture.run("CONSUME", tampered, session: &session) else {
            Issue.record("tampered URL allowed")
            return
        }
        #expect(try await fixture.run("REVOKE", "TAG", "t1", "REASON", "leak\r\nx", session: &session) == .integer(0))
        #expect(try await fixture.run("REVOKE", "OBJECT", "bkt", key, session: &session) == .integer(0))

        let lines = recorder.audit
        let expected: [(String, String, Logger.Level)] = [
            ("issue", "OK", .info), ("consume", "OK", .info), ("reserve", "OK", .info), ("release", "OK", .info),
            ("reserve", "OK", .info), ("commit", "OK", .info), ("consume", "USED", .warning),
            ("consume", "BADSIG", .info), ("revoke", "OK", .info), ("revoke", "OK", .info),
        ]
        #expect(lines.map { "\($0.fields["audit"]!) \($0.fields["outcome"] ?? "-") \($0.level)" }
            == expected.map { "\($0.0) \($0.1) \($0.2)" })
        for line in lines {
            #expect(line.message == "audit")
            #expect(line.fields["client.id"] == "svc")
            #expect(line.fields["tripwire"] == (line.level == .warning ? "reused-url" : nil))
        }
        for (index, line) in lines.enumerated() where index < 7 {
            #expect(line.fields["token.id"] == id, "line \(index)")
        }
        #expect(lines[0].fields["bucket"] == "bkt" && lines[0].fields["key"] == key && lines[0].fields["uses"] == "2")
        // Allowed decisions name the object, as the token's record holds it; so does a denial of a
        // URL that verified (its path names it), not one refused before that (the tampered URL).
        for (index, line) in lines.enumerated() where (1...6).contains(index) {
            #expect(line.fields["bucket"] == "bkt" && line.fields["key"] == key, "line \(index)")
        }
        #expect(lines[1].fields["uses.left"] == "1")
        #expect(lines[7].fields["bucket"] == nil && lines[7].fields["key"] == nil)
        #expect(lines[6].fields["reason"] == "no uses left")
        #expect(lines[8].fields["tag"] == "t1" && lines[8].fields["revoked.count"] == "0" && lines[8].fields["reason"] == "leak\r\nx")
        #expect(lines[9].fields["key"] == key)
        // Nothing anywhere in the log holds the URL, its signature or a lease's secret part.
        let nonce = String(leaseText.split(separator: ".")[1])
        for line in recorder.records {
            let text = line.message + " " + line.fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            #expect(!text.contains(signature) && !text.contains("X-Amz-") && !text.contains(nonce), "\(text)")
        }
        await fixture.stop()
    }

    @Test("refusals before Redis are audited too; a revoked URL's use is a tripwire; the HTTP path names its caller")
    func refusalsAndHTTP() async throws {
        let recorder = LogRecorder(label: "audit-test")
        let gateway = ClientPolicy(id: "gw", secretSHA256: [UInt8](repeating: 1, count: 32), roles: [.gateway])
        let fixture = try await BrokerFixture(clients: [gateway], logger: recorder.logger)
        var admin = Session(client: .open(id: "ops"))
        let issued = try await fixture.run("ISSUE", "GET", "bkt", "k", session: &admin)
        let id = try #require(Self.bulk(issued, "id"))
        let url = try #require(Self.bulk(issued, "url"))
        var anonymous = Session()
        guard case .error("NOAUTH", _) = try await fixture.run("CONSUME", id, session: &anonymous) else {
            Issue.record("an unauthenticated CONSUME got through")
            return
        }
        #expect(try await fixture.run("REVOKE", id, "REASON", "leaked", session: &admin) == .integer(1))
        let origin = String(url.dropFirst("https://files.example.com".count))
        let result = try await fixture.broker.authorize(
            AuthorizeRequest(method: "GET", uri: origin, client: "http:10.0.0.7"), on: fixture.loop
        ).get()
        guard case .denied(let error) = result, error.code == .revoked else { Issue.record("\(result)"); return }

        let lines = recorder.audit.filter { $0.fields["audit"] != "issue" }
        #expect(lines.map { $0.fields["audit"]! } == ["consume", "revoke", "consume"])
        #expect(lines[0].fields["outcome"] == "NOAUTH" && lines[0].fields["client.id"] == "-")
        #expect(lines[1].fields["token.id"] == id && lines[1].fields["reason"] == "leaked")
        #expect(lines[1].fields["revoked.count"] == "1")
        #expect(lines[2].level == .warning && lines[2].fields["tripwire"] == "reused-url")
        #expect(lines[2].fields["client.id"] == "http:10.0.0.7" && lines[2].fields["token.id"] == id)
        #expect(lines[2].fields["bucket"] == "bkt" && lines[2].fields["key"] == "k")
        await fixture.stop()
    }

    @Test("a scoped REVOKE is audited when refused outside the scope and when Redis fails its scope check")
    func scopedRevoke() async throws {
        let recorder = LogRecorder(label: "audit-test")
        let scoped = ClientPolicy(
            id: "alpha-ops", secretSHA256: [UInt8](repeating: 2, count: 32), roles: [.admin], buckets: ["alpha"])
        let fixture = try await BrokerFixture(clients: [scoped], logger: recorder.logger)
        var open = Session(client: .open(id: "svc"))
        let id = try #require(Self.bulk(try await fixture.run("ISSUE", "GET", "beta", "k", session: &open), "id"))
        var session = Session(client: scoped)
        guard case .error("NOPERM", _) = try await fixture.run("REVOKE", id, session: &session) else {
            Issue.record("a REVOKE outside the scope got through")
            return
        }
        fixture.server.stop()
        guard case .error("UNAVAILABLE", _) = try await fixture.run("REVOKE", id, session: &session) else {
            Issue.record("a REVOKE with Redis down did not answer UNAVAILABLE")
            return
        }
        let lines = recorder.audit.filter { $0.fields["audit"] == "revoke" }
        #expect(lines.map { $0.fields["outcome"] } == ["NOPERM", "UNAVAILABLE"])
        #expect(lines.allSatisfy { $0.fields["token.id"] == id && $0.fields["client.id"] == "alpha-ops" })
        await fixture.stop()
    }

    @Test("a genuine URL refused before Redis (EXPIRED, MISMATCH) names its token and object; a forged one does not")
    func genuineRefusalsNameTheirObject() async throws {
        let recorder = LogRecorder(label: "audit-test")
        let fixture = try await BrokerFixture(logger: recorder.logger)
        var session = Session(client: .open(id: "svc"))
        let issued = try await fixture.run("ISSUE", "GET", "bkt", "a/b.txt", "TTL", "60", session: &session)
        let id = try #require(Self.bulk(issued, "id"))
        let url = try #require(Self.bulk(issued, "url"))
        guard case .error("MISMATCH", _) = try await fixture.run("CONSUME", url, "METHOD", "PUT", session: &session)
        else {
            Issue.record("a GET URL was accepted for PUT")
            return
        }
        fixture.clock.advance(by: 61_000)
        guard case .error("EXPIRED", _) = try await fixture.run("CONSUME", url, session: &session) else {
            Issue.record("an expired URL was accepted")
            return
        }
        let origin = String(url.dropFirst("https://files.example.com".count))
        let result = try await fixture.broker.authorize(
            AuthorizeRequest(method: "GET", uri: origin, client: "http:10.0.0.7"), on: fixture.loop
        ).get()
        guard case .denied(let error) = result, error.code == .expired else { Issue.record("\(result)"); return }
        // The same expired URL with its key changed: the signature no longer covers it.
        let forged = origin.replacingOccurrences(of: "a/b.txt", with: "a/c.txt")
        let forgedResult = try await fixture.broker.authorize(
            AuthorizeRequest(method: "GET", uri: forged, client: "http:10.0.0.7"), on: fixture.loop
        ).get()
        guard case .denied(let forgedError) = forgedResult, forgedError.code == .badSignature else {
            Issue.record("\(forgedResult)")
            return
        }

        let lines = recorder.audit.filter { $0.fields["audit"] != "issue" }
        #expect(lines.map { $0.fields["outcome"] ?? "-" } == ["MISMATCH", "EXPIRED", "EXPIRED", "BADSIG"])
        for line in lines.prefix(3) {
            #expect(line.fields["token.id"] == id && line.fields["bucket"] == "bkt" && line.fields["key"] == "a/b.txt")
        }
        #expect(lines[3].fields["token.id"] == nil && lines[3].fields["bucket"] == nil && lines[3].fields["key"] == nil)
        // The reply says only what was wrong.
        #expect(error.reply == .error(code: "EXPIRED", message: "the URL expired"))
        await fixture.stop()
    }

    @Test("CHECK is not audited")
    func checkIsNotAudited() async throws {
        let recorder = LogRecorder(label: "audit-test")
        let fixture = try await BrokerFixture(logger: recorder.logger)
        var session = Session(client: .open(id: "svc"))
        _ = try await fixture.run("CHECK", "AAAAAAAAAAAAAAAAAAAAAA", session: &session)
        #expect(recorder.audit.isEmpty)
        await fixture.stop()
    }
}
