import Foundation

/// A secret from the configuration: written inline, read from a file (`*_file`, trailing newline
/// dropped) or from an environment variable (`*_env`). Its description never shows the value.
struct Secret: Sendable, CustomStringConvertible {
    let value: String
    /// The file it was read from when others than its owner and group may read it.
    var fileReadableByOthers: String? = nil

    var description: String { "<secret>" }

    /// Decodes the first of `value`, `file` or `env` that is present; more than one is an error.
    static func decode<Key: CodingKey>(
        from c: KeyedDecodingContainer<Key>, value: Key, file: Key, env: Key
    ) throws -> Secret? {
        let present = [value, file, env].filter { c.contains($0) }
        if present.count > 1 {
            throw DecodingError.dataCorruptedError(
                forKey: present[1], in: c,
                debugDescription: "give only one of \(present.map(\.stringValue).joined(separator: ", "))")
        }
        if let inline = try c.decodeIfPresent(String.self, forKey: value) {
            return Secret(value: inline)
        }
        if let written = try c.decodeIfPresent(String.self, forKey: file) {
            guard let path = expandingCredentialsDirectory(written) else {
                throw DecodingError.dataCorruptedError(
                    forKey: file, in: c,
                    debugDescription: "\(written) names $CREDENTIALS_DIRECTORY, which is not set (systemd LoadCredential=)")
            }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw DecodingError.dataCorruptedError(
                    forKey: file, in: c, debugDescription: "cannot read the file \(path)")
            }
            return Secret(
                value: text.trimmingCharacters(in: .newlines), fileReadableByOthers: othersCanRead(path) ? path : nil)
        }
        if let name = try c.decodeIfPresent(String.self, forKey: env) {
            guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else {
                throw DecodingError.dataCorruptedError(
                    forKey: env, in: c, debugDescription: "the environment variable \(name) is not set")
            }
            return Secret(value: text)
        }
        return nil
    }

    /// Whether a user neither the owner nor in the group could read the file at `path`: the file
    /// is readable by others and every directory on its real path lets others through (`o+x`). A
    /// world-readable file in a directory only its owner may enter is not exposed.
    static func othersCanRead(_ path: String) -> Bool {
        guard let resolved = realpath(path, nil) else { return false }
        defer { free(resolved) }
        var status = stat()
        guard stat(resolved, &status) == 0, status.st_mode & S_IROTH != 0 else { return false }
        var directory = URL(fileURLWithPath: String(cString: resolved)).deletingLastPathComponent()
        while true {
            guard stat(directory.path, &status) == 0, status.st_mode & S_IXOTH != 0 else { return false }
            if directory.path == "/" { return true }
            directory.deleteLastPathComponent()
        }
    }

    /// `path` with a leading `$CREDENTIALS_DIRECTORY/` (or `${CREDENTIALS_DIRECTORY}/`) replaced by
    /// that environment variable, where systemd's `LoadCredential=` puts a service's secrets; nil
    /// when the path names it and it is not set. Other paths are returned as they are.
    static func expandingCredentialsDirectory(
        _ path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        for prefix in ["$CREDENTIALS_DIRECTORY/", "${CREDENTIALS_DIRECTORY}/"] where path.hasPrefix(prefix) {
            guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else { return nil }
            return directory + "/" + path.dropFirst(prefix.count)
        }
        return path
    }

    /// Like `decode`, but one of the three must be present.
    static func decodeRequired<Key: CodingKey>(
        from c: KeyedDecodingContainer<Key>, value: Key, file: Key, env: Key
    ) throws -> Secret {
        guard let secret = try decode(from: c, value: value, file: file, env: env) else {
            throw DecodingError.keyNotFound(
                value,
                DecodingError.Context(
                    codingPath: c.codingPath,
                    debugDescription: "missing: give \(value.stringValue), \(file.stringValue) or \(env.stringValue)"))
        }
        return secret
    }
}

/// Any key a struct accepts by name, used to find the keys it does not know.
private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// A keyed container that first refuses any key outside `Key.allCases`, naming it.
    func strictContainer<Key: CodingKey & CaseIterable>(keyedBy: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let all = try container(keyedBy: AnyKey.self)
        let known = Set(Key.allCases.map(\.stringValue))
        if let unknown = all.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: all,
                debugDescription: "unknown key (known keys: \(known.sorted().joined(separator: ", ")))")
        }
        return try container(keyedBy: Key.self)
    }
}
