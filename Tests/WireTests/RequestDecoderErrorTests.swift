import NIOCore
import Testing
import Wire

/// Input that must fail, the code and exact message it fails with, and the requests decoded before it.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    let name: String
    let input: [UInt8]
    let code: WireError.Code
    let message: String
    var before: [[[UInt8]]] = []
    var limits = WireLimits()

    var testDescription: String { self.name }
}

@Suite("RequestDecoder: malformed and over-limit input")
struct RequestDecoderErrorTests {
    static let invalidMultibulk = "Protocol error: invalid multibulk length"
    static let invalidBulk = "Protocol error: invalid bulk length"

    static let cases: [ErrorCase] = [
        ErrorCase(name: "*abc", input: Array("*abc\r\n"), code: .invalidMultibulkLength, message: invalidMultibulk),
        ErrorCase(
            name: "* without digits", input: Array("*\r\n"), code: .invalidMultibulkLength, message: invalidMultibulk),
        ErrorCase(name: "*-5", input: Array("*-5\r\n"), code: .invalidMultibulkLength, message: invalidMultibulk),
        ErrorCase(name: "*+1", input: Array("*+1\r\n"), code: .invalidMultibulkLength, message: invalidMultibulk),
        ErrorCase(name: "*01", input: Array("*01\r\n"), code: .invalidMultibulkLength, message: invalidMultibulk),
        ErrorCase(name: "*-0", input: Array("*-0\r\n"), code: .invalidMultibulkLength, message: invalidMultibulk),
        ErrorCase(
            name: "*1 then CR without LF", input: Array("*1\rx"), code: .invalidMultibulkLength,
            message: invalidMultibulk),
        ErrorCase(
            name: "count past Int64", input: Array("*99999999999999999999\r\n"), code: .invalidMultibulkLength,
            message: invalidMultibulk),
        ErrorCase(
            name: "garbage after * fails at its first byte", input: [0x2A, 0xFF], code: .invalidMultibulkLength,
            message: invalidMultibulk),
        ErrorCase(name: "$-5", input: Array("*1\r\n$-5\r\n"), code: .invalidBulkLength, message: invalidBulk),
        ErrorCase(
            name: "$-1 as an argument", input: Array("*1\r\n$-1\r\n"), code: .invalidBulkLength, message: invalidBulk),
        ErrorCase(name: "$3x", input: Array("*1\r\n$3x\r\n"), code: .invalidBulkLength, message: invalidBulk),
        ErrorCase(name: "$ 3", input: Array("*1\r\n$ 3\r\n"), code: .invalidBulkLength, message: invalidBulk),
        ErrorCase(name: "$03", input: Array("*1\r\n$03\r\n"), code: .invalidBulkLength, message: invalidBulk),
        ErrorCase(
            name: "$ without digits", input: Array("*1\r\n$\r\n"), code: .invalidBulkLength, message: invalidBulk),
        ErrorCase(
            name: "missing $", input: Array("*1\r\nPING\r\n"), code: .expectedBulk,
            message: "Protocol error: expected '$', got 'P'"),
        ErrorCase(
            name: "missing $, control byte shown as hex", input: Array("*1\r\n") + [0x01], code: .expectedBulk,
            message: #"Protocol error: expected '$', got '\x01'"#),
        ErrorCase(
            name: "bulk data not followed by CRLF", input: Array("*1\r\n$3\r\nPINGX"), code: .missingBulkTerminator,
            message: "Protocol error: expected CRLF after bulk data"),
        ErrorCase(
            name: "fewer bulk bytes than announced", input: Array("*2\r\n$5\r\nPING\r\n$1\r\nx\r\n"),
            code: .missingBulkTerminator, message: "Protocol error: expected CRLF after bulk data"),
        ErrorCase(
            name: "$1073741824 fails on its header", input: Array("*2\r\n$4\r\nPING\r\n$1073741824\r\n"),
            code: .bulkTooLong, message: "Protocol error: bulk length 1073741824 exceeds max-bulk-bytes (65536)"),
        ErrorCase(
            name: "*100000 fails on its header", input: Array("*100000\r\n"), code: .tooManyArguments,
            message: "Protocol error: argument count 100000 exceeds max-arguments (64)"),
        ErrorCase(
            name: "one argument over the limit", input: Array("*65\r\n"), code: .tooManyArguments,
            message: "Protocol error: argument count 65 exceeds max-arguments (64)"),
        ErrorCase(
            name: "inline: one word over the limit, all counted",
            input: Array(Array(repeating: "w", count: 70).joined(separator: " ") + "\n"), code: .tooManyArguments,
            message: "Protocol error: argument count 70 exceeds max-arguments (64)"),
        ErrorCase(
            name: "inline line over the limit", input: Array(String(repeating: "a", count: 65537) + "\r\n"),
            code: .inlineTooLong, message: "Protocol error: inline request exceeds max-inline-bytes (65536)"),
        ErrorCase(
            name: "endless line without a newline", input: Array(String(repeating: "a", count: 65537)),
            code: .inlineTooLong, message: "Protocol error: inline request exceeds max-inline-bytes (65536)"),
        ErrorCase(
            name: "configured limits are named with their values",
            input: multibulk("OK", "12345678") + Array("*2\r\n$9\r\n"), code: .bulkTooLong,
            message: "Protocol error: bulk length 9 exceeds max-bulk-bytes (8)",
            before: [[Array("OK"), Array("12345678")]],
            limits: WireLimits(maxInlineBytes: 16, maxBulkBytes: 8, maxArguments: 3)),
        ErrorCase(
            name: "configured inline limit, no newline yet", input: Array("PING\n") + Array("x234567890123456789"),
            code: .inlineTooLong, message: "Protocol error: inline request exceeds max-inline-bytes (16)",
            before: [[Array("PING")]], limits: WireLimits(maxInlineBytes: 16, maxBulkBytes: 8, maxArguments: 3)),
        ErrorCase(
            name: "configured argument limit", input: Array("*4\r\n"), code: .tooManyArguments,
            message: "Protocol error: argument count 4 exceeds max-arguments (3)",
            limits: WireLimits(maxInlineBytes: 16, maxBulkBytes: 8, maxArguments: 3)),
    ]

    @Test("fails with a Redis-like message, whole and byte by byte", arguments: cases, Feeding.allCases)
    func fails(_ testCase: ErrorCase, _ feeding: Feeding) {
        let outcome = feeding.decode(testCase.input, limits: testCase.limits)
        #expect(outcome.requests == testCase.before)
        #expect(outcome.error?.code == testCase.code)
        #expect(outcome.error?.message == testCase.message)
    }

    @Test("a line just under the inline limit without its newline waits for more")
    func lineUnderLimitWaits() {
        let limits = WireLimits(maxInlineBytes: 16, maxBulkBytes: 8, maxArguments: 3)
        for input in ["x234567890123456", "x234567890123456\r"] {
            let outcome = Feeding.byteByByte.decode(Array(input), limits: limits)
            #expect(outcome == Feeding.Outcome(), "\(input.debugDescription)")
        }
    }

    @Test("after an error the decoder stays failed")
    func staysFailed() throws {
        var decoder = RequestDecoder()
        var bad = ByteBuffer(string: "*x\r\n")
        #expect(throws: WireError.self) { try decoder.decode(buffer: &bad) }
        var good = ByteBuffer(bytes: multibulk("PING"))
        let error = #expect(throws: WireError.self) { try decoder.decode(buffer: &good) }
        #expect(error?.code == .invalidMultibulkLength)
    }

    @Test("binary garbage never crashes, and decodes the same however it is split", arguments: 0..<200)
    func garbage(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let limits = WireLimits(maxInlineBytes: 64, maxBulkBytes: 16, maxArguments: 4)
        // Bias towards framing bytes so that garbage gets past the first check often enough to matter.
        let alphabet: [UInt8] = Array("*$\r\n\"' \\x0123456789-") + [0, 0xFF]
        let bytes = (0..<Int.random(in: 1...120, using: &random)).map { _ in
            Bool.random(using: &random)
                ? alphabet.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
        }
        let whole = Feeding.whole.decode(bytes, limits: limits)
        let drip = Feeding.byteByByte.decode(bytes, limits: limits)
        let chunked = Feeding.decode(bytes, chunkSizes: [3, 1, 7], limits: limits)
        #expect(whole == drip)
        #expect(whole == chunked)
    }
}
