import NIOCore
import NIOTestUtils
import Testing
import Wire

/// One input and the requests it must decode to.
struct DecodeCase: Sendable, CustomTestStringConvertible {
    let name: String
    let input: [UInt8]
    let requests: [[[UInt8]]]
    var limits = WireLimits()

    var testDescription: String { self.name }

    init(_ name: String, _ input: [UInt8], _ requests: [[String]], limits: WireLimits = WireLimits()) {
        self.name = name
        self.input = input
        self.requests = requests.map { $0.map { Array($0) } }
        self.limits = limits
    }
}

@Suite("RequestDecoder: well-formed requests")
struct RequestDecoderTests {
    static let cases: [DecodeCase] = [
        DecodeCase("RESP command", multibulk("CHECK", "abc"), [["CHECK", "abc"]]),
        DecodeCase("RESP empty bulk", multibulk("PING", ""), [["PING", ""]]),
        DecodeCase(
            "RESP binary bulk with CRLF inside", multibulk("SET", "a\r\nb\u{0}\"'"), [["SET", "a\r\nb\u{0}\"'"]]),
        DecodeCase("RESP *0 is skipped", Array("*0\r\n") + multibulk("PING"), [["PING"]]),
        DecodeCase("RESP *-1 is skipped", Array("*-1\r\n") + multibulk("PING"), [["PING"]]),
        DecodeCase("inline LF", Array("PING\n"), [["PING"]]),
        DecodeCase("inline CRLF", Array("CHECK abc\r\n"), [["CHECK", "abc"]]),
        DecodeCase("empty lines are skipped", Array("\n\r\n   \r\n\t\nPING\n"), [["PING"]]),
        DecodeCase(
            "pipelined RESP and inline in one buffer",
            multibulk("ISSUE", "GET", "b", "k") + Array("PING hello\r\n") + multibulk("QUIT") + Array("INFO\n"),
            [["ISSUE", "GET", "b", "k"], ["PING", "hello"], ["QUIT"], ["INFO"]]),
        DecodeCase("inline that looks like RESP later in the line", Array("ECHO *1\r\n"), [["ECHO", "*1"]]),
        DecodeCase(
            "exactly at every limit",
            multibulk("A", "12345678", "C") + Array("x y 1234567890123\r\n"),
            [["A", "12345678", "C"], ["x", "y", "1234567890123"]],
            limits: WireLimits(maxInlineBytes: 17, maxBulkBytes: 8, maxArguments: 3)),
    ]

    @Test("decodes the same whole and byte by byte", arguments: cases, Feeding.allCases)
    func decodes(_ testCase: DecodeCase, _ feeding: Feeding) {
        let outcome = feeding.decode(testCase.input, limits: testCase.limits)
        #expect(outcome.error == nil)
        #expect(outcome.requests == testCase.requests)
    }

    @Test("passes NIO's ByteToMessageDecoderVerifier (drip feed, one buffer, many at once)")
    func verifier() throws {
        let pairs: [(ByteBuffer, [[ByteBuffer]])] = Self.cases.filter { $0.limits == WireLimits() }.map { testCase in
            (
                ByteBuffer(bytes: testCase.input),
                testCase.requests.map { $0.map { ByteBuffer(bytes: $0) } }
            )
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { RequestDecoder() }
    }

    @Test("a request split anywhere decodes the same", arguments: [2, 3, 5, 7, 11])
    func splitAnywhere(chunk: Int) {
        let input = multibulk("CONSUME", String(repeating: "u", count: 100), "METHOD", "GET") + Array("PING\r\n")
        let outcome = Feeding.decode(input, chunkSizes: [chunk, 1, chunk * 3])
        #expect(outcome.error == nil)
        #expect(
            outcome.requests == [
                ["CONSUME", String(repeating: "u", count: 100), "METHOD", "GET"].map { Array($0) },
                [Array("PING")],
            ])
    }

    @Test("an incomplete request is not a request, at the end of input either")
    func incomplete() {
        for input in [
            "*2\r\n$4\r\nPING\r\n", "*2\r\n$4\r\nPI", "*2", "*", "PING", "PING\r", "\"unclosed",
        ] {
            let outcome = Feeding.byteByByte.decode(Array(input))
            #expect(outcome == Feeding.Outcome(), "\(input.debugDescription)")
        }
    }

    @Test("nothing of an incomplete request is consumed; the rest completes it")
    func incompleteLeavesBuffer() throws {
        var decoder = RequestDecoder()
        var buffer = ByteBuffer(string: "*2\r\n$4\r\nPING\r\n$3\r\nab")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readerIndex == 0)
        buffer.writeString("c\r\n")
        let request = try #require(try decoder.decode(buffer: &buffer))
        #expect(request == [ByteBuffer(string: "PING"), ByteBuffer(string: "abc")])
        #expect(buffer.readableBytes == 0)
    }
}
