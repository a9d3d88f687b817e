import ArgumentParser
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// presignd's log handler: one line per event on standard error, handed whole to a `LogWriter`
/// so concurrent lines never interleave and the event loop never waits for the write. Keys, messages and values can hold any bytes (an S3 key,
/// a revocation reason), so every control character, line separator and bidirectional override is
/// escaped: one event is always exactly one line, and a value cannot fake another line or field.
///
/// `text`: `2026-11-29T10:00:00.123Z info presignd: audit audit=consume client.id=gw outcome=OK`,
/// a value quoted when it holds a space, `=`, `"` or an escape. `json`: one object per line with
/// `ts`, `level`, `label`, `msg` and the metadata as string fields.
struct LogLineHandler: LogHandler {
    enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        case text, json
    }

    let label: String
    let format: Format
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .info

    init(label: String, format: Format) {
        self.label = label
        self.format = format
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // Most events (the audit lines) carry all their metadata themselves: no merge to pay for.
        var merged: Logger.Metadata
        if metadata.isEmpty && metadataProvider == nil {
            merged = event.metadata ?? [:]
        } else {
            merged = metadata
            if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
            if let own = event.metadata { merged.merge(own) { $1 } }
        }
        let line = Self.line(
            timestamp: Self.timestamp(), level: event.level, label: label, message: event.message.description,
            metadata: merged, format: format)
        Self.writer(format).write(line)
    }

    /// The writer every handler of a format shares (a process logs in one format, to one standard error).
    static func writer(_ format: Format) -> LogWriter {
        switch format {
        case .text: textWriter
        case .json: jsonWriter
        }
    }

    /// Lines of either format dropped since start (a stalled standard error).
    static var droppedLines: Int { textWriter.droppedLines + jsonWriter.droppedLines }

    /// Writes every line logged so far (at exit).
    static func flush() {
        textWriter.flush()
        jsonWriter.flush()
    }

    private static let textWriter = makeWriter(.text)
    private static let jsonWriter = makeWriter(.json)

    private static func makeWriter(_ format: Format) -> LogWriter {
        LogWriter(output: .standardError) { dropped in
            line(
                timestamp: timestamp(), level: .warning, label: "presignd",
                message: "log lines dropped: standard error did not take them fast enough",
                metadata: ["dropped": "\(dropped)"], format: format)
        }
    }

    /// The formatted line, newline included.
    static func line(
        timestamp: String, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata,
        format: Format
    ) -> String {
        let fields = metadata.sorted { $0.key < $1.key }
        // Appends rather than interpolation, and the level's raw value rather than its description:
        // an audit line per request makes this one of the daemon's hot paths.
        var line = ""
        line.reserveCapacity(256)
        switch format {
        case .text:
            line.append(timestamp)
            line.append(" ")
            line.append(level.rawValue)
            line.append(" ")
            line.append(escapedText(label))
            line.append(": ")
            line.append(escapedText(message))
            for (key, value) in fields {
                line.append(" ")
                line.append(escapedText(key))
                line.append("=")
                line.append(quotedText(value.text))
            }
            line.append("\n")
        case .json:
            line.append(#"{"ts":""#)
            line.append(timestamp)
            line.append(#"","level":""#)
            line.append(level.rawValue)
            line.append(#"","label":"#)
            line.append(jsonString(label))
            line.append(#","msg":"#)
            line.append(jsonString(message))
            for (key, value) in fields where !reservedJSONKeys.contains(key) {
                line.append(",")
                line.append(jsonString(key))
                line.append(":")
                line.append(jsonString(value.text))
            }
            line.append("}\n")
        }
        return line
    }

    /// The fields every JSON line has; metadata of the same names is left out.
    private static let reservedJSONKeys: Set<String> = ["ts", "level", "label", "msg"]

    /// Characters that must never reach a log line as they are: C0 and C1 controls, DEL, Unicode
    /// line and paragraph separators, and bidirectional overrides that reorder what a reader sees.
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7f...0x9f, 0x2028, 0x2029, 0x200e, 0x200f, 0x202a...0x202e, 0x2066...0x2069, 0xfeff: true
        default: false
        }
    }

    /// `text` with backslashes and unsafe characters escaped (`\n`, `\t`, `\r`, `\u{…}`).
    static func escapedText(_ text: String) -> String {
        if isPlainASCII(text, value: false) { return text }
        guard text.unicodeScalars.contains(where: { needsEscape($0) || $0 == "\\" }) else { return text }
        return escaped(text, quote: false) { "\\u{" + String($0, radix: 16) + "}" }
    }

    /// A metadata value for the text format: quoted (with `"` escaped) when it is empty or holds
    /// a space, `=`, `"` or anything escaped, so fields always split unambiguously.
    static func quotedText(_ value: String) -> String {
        let plain = !value.isEmpty
            && (isPlainASCII(value, value: true)
                || !value.unicodeScalars.contains { needsEscape($0) || " =\"\\".unicodeScalars.contains($0) })
        if plain { return value }
        return "\"" + escaped(value, quote: true) { "\\u{" + String($0, radix: 16) + "}" } + "\""
    }

    /// Whether `text` is printable ASCII without a backslash — and, for a `value`, without a space,
    /// `=` or `"` — decided on its bytes: the common case, without decoding scalars.
    private static func isPlainASCII(_ text: String, value: Bool) -> Bool {
        text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "\\"), 0..<0x20, 0x7f...: false
            case UInt8(ascii: " "), UInt8(ascii: "="), UInt8(ascii: "\""): !value
            default: true
            }
        }
    }

    /// A JSON string literal.
    static func jsonString(_ text: String) -> String {
        if isPlainASCII(text, value: false), !text.utf8.contains(UInt8(ascii: "\"")) { return "\"" + text + "\"" }
        return "\"" + escaped(text, quote: true) { value in
            let hex = String(value, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } + "\""
    }

    /// Backslash, newline, return and tab escaped as in C, `"` too when `quote`, and every other
    /// character `needsEscape` names through `unicode` (given its scalar value).
    private static func escaped(_ text: String, quote: Bool, unicode: (UInt32) -> String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"" where quote: out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where needsEscape(scalar): out += unicode(scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Now in UTC, RFC 3339 with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let millis = Int(now.tv_nsec) / 1_000_000
        let millisText = String(unsafeUninitializedCapacity: 4) { digits in
            digits[0] = UInt8(ascii: "0") + UInt8(millis / 100)
            digits[1] = UInt8(ascii: "0") + UInt8(millis / 10 % 10)
            digits[2] = UInt8(ascii: "0") + UInt8(millis % 10)
            digits[3] = UInt8(ascii: "Z")
            return 4
        }
        return secondText(now.tv_sec) + millisText
    }

    /// `yyyy-MM-ddTHH:mm:ss.` of `seconds`, formatted once per second.
    private static func secondText(_ seconds: Int) -> String {
        lastSecond.withLock { last in
            if last.seconds == seconds { return last.text }
            var parts = tm()
            var value = seconds
            gmtime_r(&value, &parts)
            func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
            let text = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):"
                + "\(two(parts.tm_min)):\(two(parts.tm_sec))."
            last = (seconds, text)
            return text
        }
    }

    private static let lastSecond = Mutex<(seconds: Int, text: String)>((-1, ""))
}

extension Logger.MetadataValue {
    /// The value as a log line shows it: a string as it is, without going through `description`'s
    /// formatter; lists and dictionaries as `description` writes them.
    fileprivate var text: String {
        if case .string(let string) = self { return string }
        return description
    }
}
