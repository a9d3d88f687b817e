import NIOCore
import Testing
import Wire

/// A reply and its exact bytes in RESP2 and in RESP3.
struct EncodeCase: Sendable, CustomTestStringConvertible {
    let name: String
    let reply: Reply
    let resp2: String
    let resp3: String

    var testDescription: String { self.name }

    init(_ name: String, _ reply: Reply, resp2: String, resp3: String? = nil) {
        self.name = name
        self.reply = reply
        self.resp2 = resp2
        self.resp3 = resp3 ?? resp2
    }
}

@Suite("ReplyEncoder: exact RESP2 and RESP3 bytes")
struct ReplyEncoderTests {
    static let cases: [EncodeCase] = [
        EncodeCase("simple string", .simple("OK"), resp2: "+OK\r\n"),
        EncodeCase("simple string with CR and LF", .simple("a\r\nb\nc"), resp2: "+a  b c\r\n"),
        EncodeCase("error", .error(code: "USED", message: "no uses left"), resp2: "-USED no uses left\r\n"),
        EncodeCase("error without message", .error(code: "NOAUTH", message: ""), resp2: "-NOAUTH\r\n"),
        EncodeCase(
            "error with CR and LF", .error(code: "ERR", message: "bad\r\n+OK"), resp2: "-ERR bad  +OK\r\n"),
        EncodeCase("integer", .integer(5), resp2: ":5\r\n"),
        EncodeCase("negative integer", .integer(-12), resp2: ":-12\r\n"),
        EncodeCase("bulk", .bulk("ab\r\ncd"), resp2: "$6\r\nab\r\ncd\r\n"),
        EncodeCase("empty bulk", .bulk(""), resp2: "$0\r\n\r\n"),
        EncodeCase("UTF-8 bulk counts bytes", .bulk("é"), resp2: "$2\r\né\r\n"),
        EncodeCase("null", .null, resp2: "$-1\r\n", resp3: "_\r\n"),
        EncodeCase("empty array", .array([]), resp2: "*0\r\n"),
        EncodeCase(
            "nested array", .array([.integer(1), .array([.bulk("x"), .null])]),
            resp2: "*2\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n", resp3: "*2\r\n:1\r\n*2\r\n$1\r\nx\r\n_\r\n"),
        EncodeCase(
            "record", .record(["id": .bulk("abc"), "uses": .integer(1)]),
            resp2: "*4\r\n$2\r\nid\r\n$3\r\nabc\r\n$4\r\nuses\r\n:1\r\n",
            resp3: "%2\r\n$2\r\nid\r\n$3\r\nabc\r\n$4\r\nuses\r\n:1\r\n"),
        EncodeCase("empty map", .map([]), resp2: "*0\r\n", resp3: "%0\r\n"),
        EncodeCase(
            "push (pub/sub message)", .push([.bulk("message"), .bulk("invalidations"), .bulk("{}")]),
            resp2: "*3\r\n$7\r\nmessage\r\n$13\r\ninvalidations\r\n$2\r\n{}\r\n",
            resp3: ">3\r\n$7\r\nmessage\r\n$13\r\ninvalidations\r\n$2\r\n{}\r\n"),
        EncodeCase(
            "verbatim text", .verbatim("# Server\r\nversion:1\r\n"),
            resp2: "$21\r\n# Server\r\nversion:1\r\n\r\n", resp3: "=25\r\ntxt:# Server\r\nversion:1\r\n\r\n"),
    ]

    @Test("RESP2 bytes", arguments: cases)
    func resp2(_ testCase: EncodeCase) {
        var buffer = ByteBuffer()
        ReplyEncoder(version: .resp2).encode(testCase.reply, into: &buffer)
        #expect(String(buffer: buffer) == testCase.resp2)
    }

    @Test("RESP3 bytes", arguments: cases)
    func resp3(_ testCase: EncodeCase) {
        var buffer = ByteBuffer()
        ReplyEncoder(version: .resp3).encode(testCase.reply, into: &buffer)
        #expect(String(buffer: buffer) == testCase.resp3)
    }

    @Test("a bulk of arbitrary bytes is written unchanged, and replies append to what the buffer holds")
    func binaryBulk() {
        let bytes: [UInt8] = [0, 0x0D, 0x0A, 0xFF, 0x24]
        var buffer = ByteBuffer(string: "+OK\r\n")
        let encoder = ReplyEncoder()
        encoder.encode(.bulk(ByteBuffer(bytes: bytes)), into: &buffer)
        #expect(Array(buffer.readableBytesView) == Array("+OK\r\n$5\r\n") + bytes + Array("\r\n"))
    }

    @Test("replies compare by value, records in order")
    func equality() {
        #expect(Reply.record(["a": .integer(1)]) == .map([(key: .bulk("a"), value: .integer(1))]))
        #expect(Reply.record(["a": .integer(1), "b": .null]) != .record(["b": .null, "a": .integer(1)]))
        #expect(Reply.error(code: "USED", message: "") != .error(code: "ERR", message: ""))
        #expect(Reply.bulk("1") != .integer(1))
    }
}
