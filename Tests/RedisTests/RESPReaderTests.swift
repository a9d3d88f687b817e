import NIOCore
import Testing

@testable import Redis

@Suite("RESPReader (hiredis redisReader)")
struct RESPReaderTests {
    static let stream =
        "+OK\r\n-USED no uses left\r\n:-7\r\n$3\r\na\u{0}b\r\n$-1\r\n*-1\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n"
    static let values: [RESPValue] = [
        .simpleString("OK"), .error("USED no uses left"), .integer(-7), .bulkString([97, 0, 98]), .null, .null,
        .array([.array([.integer(1)]), .bulkString([])]),
    ]

    private func parseAll(_ chunks: [String], maxReplyBytes: Int = 1 << 20) throws -> [RESPValue] {
        let reader = RESPReader(maxReplyBytes: maxReplyBytes)
        var values: [RESPValue] = []
        for chunk in chunks {
            try reader.feed(ByteBuffer(string: chunk))
            while let value = try reader.next() { values.append(value) }
        }
        return values
    }

    @Test("a stream of replies parses the same in one piece and byte by byte")
    func wholeAndByteByByte() throws {
        #expect(try parseAll([Self.stream]) == Self.values)
        #expect(try parseAll(Self.stream.utf8.map { String(UnicodeScalar($0)) }) == Self.values)
    }

    @Test(
        "malformed input is a failure, not a crash",
        arguments: ["?what\r\n", "%1\r\n", "*2147483648\r\n", String(repeating: "*1\r\n", count: 9) + ":1\r\n"])
    func malformed(input: String) {
        #expect(throws: RESPReader.Failure.self) { _ = try parseAll([input]) }
    }

    @Test("nesting up to hiredis's limit parses")
    func deepestNesting() throws {
        let input = String(repeating: "*1\r\n", count: 8) + ":1\r\n"
        let expected = (0..<8).reduce(RESPValue.integer(1)) { inner, _ in .array([inner]) }
        #expect(try parseAll([input]) == [expected])
    }

    @Test("an announced endless bulk fails once the bytes buffered for it pass maxReplyBytes")
    func endlessBulk() throws {
        let reader = RESPReader(maxReplyBytes: 100)
        try reader.feed(ByteBuffer(string: "$9223372036854775807\r\n"))
        #expect(try reader.next() == nil)
        try reader.feed(ByteBuffer(string: String(repeating: "x", count: 60)))
        #expect(try reader.next() == nil)
        try reader.feed(ByteBuffer(string: String(repeating: "x", count: 60)))
        #expect(throws: RESPReader.Failure.self) { _ = try reader.next() }
    }

    @Test("the size limit applies to each reply, not to the whole stream")
    func limitIsPerReply() throws {
        let reply = "$50\r\n" + String(repeating: "y", count: 50) + "\r\n"
        let values = try parseAll(Array(repeating: reply, count: 20), maxReplyBytes: 64)
        #expect(values.count == 20)
        #expect(throws: RESPReader.Failure.self) { _ = try parseAll([reply], maxReplyBytes: 40) }
    }
}
