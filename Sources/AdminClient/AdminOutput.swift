import Foundation
import Redis

/// How presignctl prints replies: aligned `name  value` lines for people, one JSON object per line
/// with `--json` for scripts. Pure functions of the reply, so tests pin the output.
package enum AdminOutput {
    /// The fields of a record reply (a flat name/value array, as presignd sends under RESP2), in order.
    package static func record(_ reply: RESPValue, of command: String) throws(AdminFailure) -> [(String, RESPValue)] {
        guard let flat = reply.array, flat.count.isMultiple(of: 2) else { throw .unexpectedReply(to: command) }
        var fields: [(String, RESPValue)] = []
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let name = flat[index].string else { throw .unexpectedReply(to: command) }
            fields.append((name, flat[index + 1]))
        }
        return fields
    }

    /// `ISSUE`'s record: the URL and what the caller must send with it.
    package static func issued(_ reply: RESPValue, json: Bool) throws(AdminFailure) -> String {
        let fields = try record(reply, of: "ISSUE")
        if json {
            return success(
                Dictionary(
                    fields.map { name, value in
                        (name, name == "headers" ? pairsObject(value) : jsonValue(value))
                    }, uniquingKeysWith: { first, _ in first }))
        }
        var lines: [(String, String)] = []
        for (name, value) in fields {
            if name == "headers" {
                let flat = value.array ?? []
                for index in stride(from: 0, to: flat.count - 1, by: 2) {
                    lines.append(("header", "\(flat[index].string ?? ""): \(flat[index + 1].string ?? "")"))
                }
            } else {
                lines.append((name, text(value, field: name)))
            }
        }
        return aligned(lines)
    }

    /// `CONSUME`'s `:<uses left>`.
    package static func consumed(_ reply: RESPValue, json: Bool) throws(AdminFailure) -> String {
        guard let left = reply.integer else { throw .unexpectedReply(to: "CONSUME") }
        if json { return success(["allowed": true, "uses_left": left]) }
        return "allowed: \(left) \(left == 1 ? "use" : "uses") left"
    }

    /// `CHECK`'s record.
    package static func checked(_ reply: RESPValue, json: Bool) throws(AdminFailure) -> String {
        let fields = try record(reply, of: "CHECK")
        if json {
            return success(Dictionary(fields.map { ($0.0, jsonValue($0.1)) }, uniquingKeysWith: { first, _ in first }))
        }
        return aligned(fields.map { ($0.0, text($0.1, field: $0.0)) })
    }

    /// `REVOKE`'s `:<count>`; `single` for `REVOKE <target>`, where the count is 1 or 0.
    package static func revoked(_ reply: RESPValue, single: Bool, json: Bool) throws(AdminFailure) -> String {
        guard let count = reply.integer else { throw .unexpectedReply(to: "REVOKE") }
        if json { return success(["revoked": count]) }
        if single { return count == 1 ? "revoked" : "not active: nothing to revoke" }
        return "revoked \(count) \(count == 1 ? "token" : "tokens")"
    }

    /// `INFO`'s text as is, or as `{"section": {"field": value}}`, a value that is a whole number as
    /// a number and any other as a string (`cmdstat_` lines stay Redis's `calls=4,OK=3` text).
    package static func stats(_ reply: RESPValue, json: Bool) throws(AdminFailure) -> String {
        guard let info = reply.string else { throw .unexpectedReply(to: "INFO") }
        guard json else { return info.trimmingCharacters(in: .whitespacesAndNewlines) }
        var sections: [String: [String: Any]] = [:]
        var section = "default"
        for line in info.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("# ") {
                section = line.dropFirst(2).trimmingCharacters(in: .whitespaces).lowercased()
            } else if let colon = line.firstIndex(of: ":") {
                let value = String(line[line.index(after: colon)...])
                // Only a number written as a number (`42`, not `+42` or `042`) becomes one.
                let number = Int(value).flatMap { String($0) == value ? $0 : nil }
                sections[section, default: [:]][String(line[..<colon])] = number.map { $0 as Any } ?? value
            }
        }
        return encode(sections)
    }

    /// One invalidation event; `eventID` is nil for one seen live, whose stream id is not known.
    package static func event(_ payload: String, eventID: String?, json: Bool) -> String {
        let parsed = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any]
        if json {
            var object: [String: Any] = ["event": parsed ?? payload]
            if let eventID { object["event_id"] = eventID }
            return encode(object)
        }
        guard let parsed else { return [eventID, payload].compactMap { $0 }.joined(separator: "  ") }
        let field = { (name: String) in parsed[name].map { "\($0)" } ?? "?" }
        var words = [
            eventID ?? "live", field("event"), field("id"), "\(field("bucket"))/\(field("key"))", "by \(field("by"))",
        ]
        if let reason = parsed["reason"] as? String, !reason.isEmpty { words.append("reason: \(reason)") }
        if let at = parsed["at"] as? Int { words.insert(timestamp(seconds: at / 1000), at: 1) }
        return words.joined(separator: "  ")
    }

    /// A note in the event output (a reconnect, a RESYNC).
    package static func notice(_ kind: String, _ message: String, json: Bool) -> String {
        json ? encode(["notice": kind, "message": message]) : "\(kind): \(message)"
    }

    /// A failure, for stderr or (with --json) stdout.
    package static func failure(_ failure: AdminFailure, json: Bool) -> String {
        if json {
            return encode([
                "ok": false, "denied": failure.status == .denied, "code": failure.code, "message": failure.message,
            ])
        }
        return "\(failure.status == .denied ? "denied" : "error"): \(failure.message)"
    }

    /// Writes one line to stdout unbuffered, so `watch` output reaches a pipe as each event happens
    /// (stdio would hold it in a block buffer).
    package static func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Writes one line to stderr.
    package static func emitError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    // MARK: Pieces

    private static func text(_ value: RESPValue, field: String) -> String {
        switch value {
        case .integer(let number) where field.hasSuffix("_at"): "\(number) (\(timestamp(seconds: Int(number))))"
        case .integer(let number): "\(number)"
        case .array(let elements): elements.map { text($0, field: "") }.joined(separator: ", ")
        case .null: "-"
        default: value.string ?? "?"
        }
    }

    private static func timestamp(seconds: Int) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601)
    }

    private static func jsonValue(_ value: RESPValue) -> Any {
        switch value {
        case .integer(let number): number
        case .array(let elements): elements.map(jsonValue)
        case .null: NSNull()
        default: value.string ?? NSNull()
        }
    }

    /// A flat `[name, value, …]` array as an object.
    private static func pairsObject(_ value: RESPValue) -> [String: String] {
        let flat = value.array ?? []
        var object: [String: String] = [:]
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            object[flat[index].string ?? ""] = flat[index + 1].string ?? ""
        }
        return object
    }

    private static func aligned(_ lines: [(String, String)]) -> String {
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
            .joined(separator: "\n")
    }

    /// A success's object, with `"ok": true` as a failure's has `"ok": false`.
    private static func success(_ object: [String: Any]) -> String {
        encode(object.merging(["ok": true]) { _, ok in ok })
    }

    private static func encode(_ object: Any) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
