import AdminClient
import ArgumentParser
import Foundation
import Redis
import Testing

@Suite("presignctl arguments become the protocol's requests")
struct RequestTests {
    static let issues: [(arguments: [String], request: [String])] = [
        (["get", "reports", "q3.pdf"], ["ISSUE", "GET", "reports", "q3.pdf"]),
        (
            [
                "PUT", "up", "users/7/a b.png", "--ttl", "600", "--uses", "3", "--content-type", "image/png", "--tag",
                "t1",
                "--tag", "t2", "--param", "x-id=a=b", "--profile", "eu",
            ],
            [
                "ISSUE", "PUT", "up", "users/7/a b.png", "TTL", "600", "USES", "3", "CONTENT-TYPE", "image/png", "TAG",
                "t1",
                "TAG", "t2", "PARAM", "x-id", "a=b", "PROFILE", "eu",
            ]
        ),
        (
            ["PUT", "up", "k", "--content-length", "1024", "--param", "response-content-type=\u{301}x=y"],
            ["ISSUE", "PUT", "up", "k", "CONTENT-LENGTH", "1024", "PARAM", "response-content-type", "\u{301}x=y"]
        ),
    ]

    @Test("issue: every flag maps to its ISSUE keyword, in order; a value may hold '='", arguments: issues)
    func issue(arguments: [String], request: [String]) throws {
        #expect(try IssueCommand.parse(arguments).request == request)
    }

    @Test("issue: --param without NAME= is a usage error")
    func badParam() {
        #expect(throws: (any Error).self) { try IssueCommand.parse(["GET", "b", "k", "--param", "novalue"]) }
        #expect(throws: (any Error).self) { try IssueCommand.parse(["GET", "b", "k", "--param", "=v"]) }
        #expect(throws: (any Error).self) { try IssueCommand.parse(["GET", "b", "k", "--param", "=\u{301}v"]) }
    }

    @Test("watch: a resume point must be an event id")
    func eventIDs() {
        for good in ["0", "0-0", "1764403200123-7", "18446744073709551615-18446744073709551615"] {
            #expect(WatchCommand.isEventID(good), "\(good)")
        }
        for bad in ["", "-", "1-", "-1", "1-2-3", "+1", "garbage", "1 ", "٣-0", "18446744073709551616-0"] {
            #expect(!WatchCommand.isEventID(bad), "\(bad)")
        }
    }

    @Test("consume: METHOD only when asked, upper-cased")
    func consume() throws {
        #expect(try ConsumeCommand.parse(["id1"]).request == ["CONSUME", "id1"])
        #expect(try ConsumeCommand.parse(["id1", "--method", "put"]).request == ["CONSUME", "id1", "METHOD", "PUT"])
    }

    static let revokes: [(arguments: [String], request: [String]?)] = [
        (["tok"], ["REVOKE", "tok"]),
        (["--object", "b", "dir/k"], ["REVOKE", "OBJECT", "b", "dir/k"]),
        (["--tag", "customer-42"], ["REVOKE", "TAG", "customer-42"]),
        (["tok", "--reason", "leaked"], ["REVOKE", "tok", "REASON", "leaked"]),
        (["--object", "b", "k", "--reason", "gone"], ["REVOKE", "OBJECT", "b", "k", "REASON", "gone"]),
        ([], nil),
        (["a", "b"], nil),
        (["--object", "b"], nil),
        (["--tag", "t", "tok"], nil),
        (["--object", "--tag", "t", "b", "k"], nil),
    ]

    @Test("revoke: exactly one of <target>, --object <bucket> <key>, --tag <tag>", arguments: revokes)
    func revoke(arguments: [String], request: [String]?) throws {
        if let request {
            #expect(try RevokeCommand.parse(arguments).request == request)
        } else {
            #expect(throws: (any Error).self) { try RevokeCommand.parse(arguments) }
        }
    }

    @Test("usage errors, --help and unknown subcommands exit 2, 0 and 2")
    func usageExitCodes() async {
        #expect(await Presignctl.run(arguments: ["revoke"]) == 2)
        #expect(await Presignctl.run(arguments: ["frobnicate"]) == 2)
        #expect(await Presignctl.run(arguments: ["issue", "--help"]) == 0)
    }
}

@Suite("presignctl token ids that start with a dash")
struct DashedTokenIDTests {
    @Test("an id starting with '-' is a target, not an option, wherever it stands")
    func dashedID() throws {
        let id = "-0fIwuvw59gJKXcpLZ4O1w"
        let moved = Presignctl.protectingTokenIDs(["consume", id, "--method", "get"])
        #expect(moved == ["consume", "--method", "get", "--", id])
        #expect(try ConsumeCommand.parse(Array(moved.dropFirst())).request == ["CONSUME", id, "METHOD", "GET"])
        #expect(Presignctl.protectingTokenIDs(["consume", "--json", "abc"]) == ["consume", "--json", "abc"])
        #expect(Presignctl.protectingTokenIDs(["check", "--", id]) == ["check", "--", id])
    }
}

@Suite("presignctl credentials")
struct CredentialTests {
    @Test("the flag wins over the environment, the environment over the secret file; no id means no AUTH")
    func precedence() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("presignctl-secret-\(getpid())").path
        try "from-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }

        let none = try ConnectionOptions.parse([])
        #expect(try none.credentials(environment: ["PRESIGND_SECRET": "s"]) == nil)

        let fromEnvironment = try ConnectionOptions.parse([]).credentials(
            environment: ["PRESIGND_CLIENT_ID": "ops", "PRESIGND_SECRET": "env"])
        #expect(fromEnvironment?.clientID == "ops" && fromEnvironment?.secret == "env")

        let fromFile = try ConnectionOptions.parse(["--client-id", "ops", "--secret-file", file]).credentials(
            environment: ["PRESIGND_SECRET": "env"])
        #expect(fromFile?.secret == "from-file")

        let fromFlag = try ConnectionOptions.parse(["--client-id", "ops", "--secret", "flag", "--secret-file", file])
            .credentials(environment: ["PRESIGND_SECRET": "env"])
        #expect(fromFlag?.secret == "flag")
    }

    @Test("a client id without a secret is a usage error that does not guess one")
    func missingSecret() throws {
        let options = try ConnectionOptions.parse(["--client-id", "ops"])
        #expect(throws: AdminFailure.self) { try options.credentials(environment: [:]) }
    }
}

@Suite("presignctl output and exit statuses")
struct OutputTests {
    static let statuses: [(reply: String, status: AdminExitStatus)] = [
        ("USED no uses left", .denied), ("RESERVED held by leases", .denied), ("REVOKED revoked", .denied),
        ("EXPIRED", .denied), ("UNKNOWN never issued", .denied), ("MISMATCH method", .denied),
        ("BADSIG bad", .denied), ("NOAUTH", .denied), ("WRONGPASS invalid", .denied), ("NOPERM no", .denied),
        ("UNAVAILABLE redis", .error), ("ERR syntax", .error), ("RESYNC too old", .error), ("USEDX", .error),
    ]

    @Test("an error reply's first word decides denial (1) or error (2)", arguments: statuses)
    func exitStatus(reply: String, status: AdminExitStatus) {
        #expect(AdminFailure(errorReply: reply).status == status)
    }

    static let issueReply = RESPValue.array([
        .bulkString(Array("id".utf8)), .bulkString(Array("AAAAAAAAAAAAAAAAAAAAAA".utf8)),
        .bulkString(Array("url".utf8)), .bulkString(Array("http://gw/b/k?X-Amz-Signature=00".utf8)),
        .bulkString(Array("method".utf8)), .bulkString(Array("PUT".utf8)),
        .bulkString(Array("expires_at".utf8)), .integer(1_764_403_200),
        .bulkString(Array("uses".utf8)), .integer(1),
        .bulkString(Array("headers".utf8)),
        .array([.bulkString(Array("Content-Type".utf8)), .bulkString(Array("image/png".utf8))]),
    ])

    @Test("issue prints aligned fields, the expiry as a date, and each header to send")
    func issueText() throws {
        #expect(
            try AdminOutput.issued(Self.issueReply, json: false) == """
                id          AAAAAAAAAAAAAAAAAAAAAA
                url         http://gw/b/k?X-Amz-Signature=00
                method      PUT
                expires_at  1764403200 (2025-11-29T08:00:00Z)
                uses        1
                header      Content-Type: image/png
                """)
    }

    @Test("issue --json is one object with headers as an object")
    func issueJSON() throws {
        #expect(
            try AdminOutput.issued(Self.issueReply, json: true)
                == #"{"expires_at":1764403200,"headers":{"Content-Type":"image/png"},"id":"AAAAAAAAAAAAAAAAAAAAAA","method":"PUT","ok":true,"url":"http://gw/b/k?X-Amz-Signature=00","uses":1}"#
        )
    }

    @Test("consume, revoke and a failure in text and JSON")
    func shortReplies() throws {
        #expect(try AdminOutput.consumed(.integer(2), json: false) == "allowed: 2 uses left")
        #expect(try AdminOutput.consumed(.integer(0), json: true) == #"{"allowed":true,"ok":true,"uses_left":0}"#)
        #expect(try AdminOutput.revoked(.integer(0), single: true, json: false) == "not active: nothing to revoke")
        #expect(try AdminOutput.revoked(.integer(3), single: false, json: false) == "revoked 3 tokens")
        #expect(try AdminOutput.revoked(.integer(3), single: false, json: true) == #"{"ok":true,"revoked":3}"#)
        let used = AdminFailure(errorReply: "USED no uses left")
        #expect(AdminOutput.failure(used, json: false) == "denied: USED no uses left")
        #expect(
            AdminOutput.failure(used, json: true)
                == #"{"code":"USED","denied":true,"message":"USED no uses left","ok":false}"#)
    }

    @Test("a reply of the wrong shape is an error, not a crash")
    func wrongShapes() {
        #expect(throws: AdminFailure.self) { try AdminOutput.consumed(.simpleString("OK"), json: false) }
        #expect(throws: AdminFailure.self) { try AdminOutput.issued(.array([.integer(1)]), json: false) }
        #expect(throws: AdminFailure.self) { try AdminOutput.stats(.integer(1), json: true) }
    }

    @Test("INFO --json groups fields by section, whole numbers as numbers")
    func statsJSON() throws {
        let info = RESPValue.bulkString(
            Array("# Server\r\nversion:1.0\r\nuptime_in_seconds:42\r\nbuild:007\r\n\r\n# Commands\r\ncmd_consume:OK=3\r\n".utf8))
        #expect(
            try AdminOutput.stats(info, json: true)
                == #"{"commands":{"cmd_consume":"OK=3"},"server":{"build":"007","uptime_in_seconds":42,"version":"1.0"}}"#)
    }

    @Test("an event line shows id, time, kind, token, object, who and why; unparsable payloads pass through")
    func events() {
        let payload =
            #"{"event":"revoked","id":"AAAAAAAAAAAAAAAAAAAAAA","bucket":"b","key":"k","reason":"leak","by":"ops","at":1764403200000}"#
        #expect(
            AdminOutput.event(payload, eventID: "1764403200000-0", json: false)
                == "1764403200000-0  2025-11-29T08:00:00Z  revoked  AAAAAAAAAAAAAAAAAAAAAA  b/k  by ops  reason: leak")
        #expect(AdminOutput.event("not json", eventID: nil, json: false) == "not json")
        #expect(
            AdminOutput.event(#"{"event":"revoked"}"#, eventID: "1-0", json: true)
                == #"{"event":{"event":"revoked"},"event_id":"1-0"}"#)
    }
}
