import Testing
import Wire

/// Seeded property tests: whatever a client encodes decodes back to the same arguments.
@Suite("RequestDecoder: round trips")
struct RoundTripTests {
    /// Bytes that matter to the framing or the quoting, mixed in often so that they meet every rule.
    static let special: [UInt8] = Array("\r\n\"'\\ \t*$x0") + [0, 0x07, 0x08, 0x0B, 0x0C, 0x7F, 0xFF]

    static func randomBytes(count: Int, using random: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in
            Bool.random(using: &random)
                ? special.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
        }
    }

    static func randomPrintable(count: Int, using random: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0x20...0x7E, using: &random) }
    }

    /// Quotes `bytes` as redis-cli prints a string (`sdscatrepr`): in double quotes, `\\` and `\"`
    /// escaped, `\n \r \t \a \b` as such, every other non-printable byte as `\xHH`.
    static func redisCLIQuoted(_ bytes: [UInt8]) -> [UInt8] {
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""): quoted += [UInt8(ascii: "\\"), byte]
            case 0x0A: quoted += Array(#"\n"#)
            case 0x0D: quoted += Array(#"\r"#)
            case 0x09: quoted += Array(#"\t"#)
            case 0x07: quoted += Array(#"\a"#)
            case 0x08: quoted += Array(#"\b"#)
            case 0x20...0x7E: quoted.append(byte)
            default:
                let hex = Array("0123456789abcdef")
                quoted += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        quoted.append(UInt8(ascii: "\""))
        return quoted
    }

    /// A word that splits as itself without quotes (and, first on a line, does not look like RESP).
    static func isBare(_ word: [UInt8], first: Bool) -> Bool {
        guard let head = word.first, !(first && head == UInt8(ascii: "*")) else { return false }
        return !word.contains { $0 == 0 || $0 == 0x20 || (0x09...0x0D).contains($0) || $0 == 0x22 || $0 == 0x27 }
    }

    @Test("RESP multibulk of arbitrary bytes decodes back identically, however it is split", arguments: 0..<60)
    func multibulkRoundTrip(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var requests: [[[UInt8]]] = []
        var input: [UInt8] = []
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            let arguments = (0..<Int.random(in: 1...16, using: &random)).map { _ in
                Self.randomBytes(count: Int.random(in: 0...24, using: &random), using: &random)
            }
            requests.append(arguments)
            input += multibulk(arguments)
        }
        let chunks = (0..<5).map { _ in Int.random(in: 1...40, using: &random) }
        for outcome in [
            Feeding.whole.decode(input), Feeding.byteByByte.decode(input), Feeding.decode(input, chunkSizes: chunks),
        ] {
            #expect(outcome.error == nil)
            #expect(outcome.requests == requests)
        }
    }

    @Test("a request at every default limit at once decodes back identically")
    func fullSizeRoundTrip() {
        var random = SeededGenerator(seed: 7)
        let limits = WireLimits()
        let arguments = (0..<limits.maxArguments).map { _ in
            Self.randomBytes(count: limits.maxBulkBytes, using: &random)
        }
        let input = multibulk(arguments) + multibulk("PING")
        for outcome in [Feeding.whole.decode(input), Feeding.decode(input, chunkSizes: [65536, 1, 4096, 17])] {
            #expect(outcome.error == nil)
            #expect(outcome.requests == [arguments, [Array("PING")]])
        }
    }

    @Test("words quoted as redis-cli quotes them decode back identically as inline commands", arguments: 0..<120)
    func inlineRoundTrip(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var requests: [[[UInt8]]] = []
        var input: [UInt8] = []
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            let words = (0..<Int.random(in: 1...12, using: &random)).map { _ in
                let count = Int.random(in: 0...16, using: &random)
                return Int.random(in: 0..<10, using: &random) < 7
                    ? Self.randomPrintable(count: count, using: &random)
                    : Self.randomBytes(count: count, using: &random)
            }
            requests.append(words)
            var line: [UInt8] = Bool.random(using: &random) ? [] : Array("  ")
            for (index, word) in words.enumerated() {
                if index > 0 { line += [[0x20], [0x20, 0x20], [0x09]].randomElement(using: &random)! }
                let bare = Self.isBare(word, first: index == 0) && Bool.random(using: &random)
                line += bare ? word : Self.redisCLIQuoted(word)
            }
            input += line + (Bool.random(using: &random) ? Array("\r\n") : Array("\n"))
        }
        let chunks = (0..<5).map { _ in Int.random(in: 1...40, using: &random) }
        for outcome in [
            Feeding.whole.decode(input), Feeding.byteByByte.decode(input), Feeding.decode(input, chunkSizes: chunks),
        ] {
            #expect(outcome.error == nil)
            #expect(outcome.requests == requests)
        }
    }
}
