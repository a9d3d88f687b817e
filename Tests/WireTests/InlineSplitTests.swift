import Testing
import Wire

/// One inline line and the words `sdssplitargs` (so Redis and redis-cli) makes of it; nil words means
/// "Protocol error: unbalanced quotes in request".
struct InlineCase: Sendable, CustomTestStringConvertible {
    let line: [UInt8]
    let words: [[UInt8]]?
    let rule: String

    var testDescription: String { self.rule }

    init(_ line: String, _ words: [String]?, _ rule: String) {
        self.line = Array(line)
        self.words = words.map { $0.map { Array($0) } }
        self.rule = rule
    }

    init(bytes line: [UInt8], _ words: [[UInt8]]?, _ rule: String) {
        self.line = line
        self.words = words
        self.rule = rule
    }
}

@Suite("RequestDecoder: inline commands split like sdssplitargs")
struct InlineSplitTests {
    static let words: [InlineCase] = [
        InlineCase("SET a b", ["SET", "a", "b"], "words are separated by spaces"),
        InlineCase("  set \t a\t\tb  ", ["set", "a", "b"], "runs of spaces and tabs separate, at both ends too"),
        InlineCase("a\rb", ["a", "b"], "a CR inside the line separates"),
        InlineCase("\u{0B}\u{0C}a", ["a"], "leading vertical tab and form feed are skipped"),
        InlineCase("a\u{0B}b\u{0C}c", ["a\u{0B}b\u{0C}c"], "vertical tab and form feed inside a word belong to it"),
        InlineCase(#"a\nb"#, [#"a\nb"#], "a backslash outside quotes is literal"),
        InlineCase(#""hello world""#, ["hello world"], "double quotes keep spaces"),
        InlineCase(#""""#, [""], "empty double quotes are an empty word"),
        InlineCase("''", [""], "empty single quotes are an empty word"),
        InlineCase(#""a\nb""#, ["a\nb"], #"\n in double quotes"#),
        InlineCase(#""\r\t\b\a""#, ["\r\t\u{08}\u{07}"], #"\r \t \b \a in double quotes"#),
        InlineCase(#""a\"b""#, [#"a"b"#], #"\" in double quotes"#),
        InlineCase(#""a\\b""#, [#"a\b"#], #"\\ in double quotes"#),
        InlineCase(#""\q\'""#, ["q'"], "a backslash before any other byte stands for that byte"),
        InlineCase(#""\x41\x6a\x6A""#, ["Ajj"], #"\xHH with either case of hex digit"#),
        InlineCase(#""\x4" x"#, ["x4", "x"], #"\x without two hex digits is just x"#),
        InlineCase(#""\xZZ""#, ["xZZ"], #"\x before non-hex is just x"#),
        InlineCase(#"'a\nb'"#, [#"a\nb"#], "single quotes are literal"),
        InlineCase(#"'it\'s'"#, ["it's"], #"\' in single quotes"#),
        InlineCase(#"'a"b' "c'd""#, [#"a"b"#, "c'd"], "the other quote is literal inside quotes"),
        InlineCase(#"a"b c""#, ["ab c"], "a quote may start in the middle of a word"),
        InlineCase(#"a'b c' d"#, ["ab c", "d"], "a single quote may start in the middle of a word"),
        InlineCase("\"a\"\tb", ["a", "b"], "a tab may follow a closing quote"),
        InlineCase(#""a" 'b'"#, ["a", "b"], "quoted words side by side"),
        InlineCase(bytes: Array(#""\x00" b"#), [[0], Array("b")], #"\x00 gives a NUL byte"#),
        InlineCase(bytes: [0xFF, 0xC3, 0x28], [[0xFF, 0xC3, 0x28]], "bytes are bytes, not UTF-8"),
    ]

    static let unbalanced: [InlineCase] = [
        InlineCase(#""abc"#, nil, "unterminated double quote"),
        InlineCase("'abc", nil, "unterminated single quote"),
        InlineCase(#""abc\""#, nil, "an escaped quote does not close"),
        InlineCase(#""a"b"#, nil, "a closing double quote must be followed by whitespace"),
        InlineCase("'a'b", nil, "a closing single quote must be followed by whitespace"),
        InlineCase(#"'a\\'"#, nil, #"\' closes nothing even after a backslash in single quotes"#),
        InlineCase(#""\"#, nil, "a backslash at the end of the line"),
    ]

    @Test("splits words", arguments: words, Feeding.allCases)
    func split(_ testCase: InlineCase, _ feeding: Feeding) {
        let outcome = feeding.decode(testCase.line + Array("\r\n"))
        #expect(outcome.error == nil)
        #expect(outcome.requests == [testCase.words!])
    }

    @Test("rejects unbalanced quotes", arguments: unbalanced, Feeding.allCases)
    func rejects(_ testCase: InlineCase, _ feeding: Feeding) {
        let outcome = feeding.decode(testCase.line + Array("\n") + Array("PING\n"))
        #expect(outcome.requests.isEmpty)
        #expect(outcome.error?.code == .unbalancedQuotes)
        #expect(outcome.error?.message == "Protocol error: unbalanced quotes in request")
    }

    @Test(
        "rejects a NUL byte anywhere in the line (Redis never finds such a line's end)",
        arguments: [Array("a") + [0] + Array("b c"), Array("\"a") + [0] + Array("b\""), [0], Array("a ") + [0]],
        Feeding.allCases)
    func rejectsNUL(_ line: [UInt8], _ feeding: Feeding) {
        let outcome = feeding.decode(line + Array("\r\n"))
        #expect(outcome.requests.isEmpty)
        #expect(outcome.error?.code == .nulInInline)
        #expect(outcome.error?.message == "Protocol error: NUL byte in inline request")
    }
}
