/// The signed headers of one request in their canonical form (SPEC §2.4), in memory of the
/// caller's, valid while it signs: the `name:value\n` lines sorted by lowercase name, without
/// the host line, which belongs at `hostAt`; the signed header names, host included, joined by
/// `;`; and the same names URI-encoded and joined by `%3B`, as X-Amz-SignedHeaders carries them.
struct HeaderPlan {
    var lines: UnsafeBufferPointer<UInt8>
    var hostAt: Int
    var signedHeaders: UnsafeBufferPointer<UInt8>
    var encodedSignedHeaders: UnsafeBufferPointer<UInt8>

    var linesBeforeHost: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: lines[..<hostAt]) }
    var linesAfterHost: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: lines[hostAt...]) }

    /// The bytes a plan of `headers` can need (`total`): the lines (name, ":", value, "\n";
    /// `lines` bytes) twice, as given and sorted; each name and ";", and each name encoded and
    /// "%3B" (3 bytes a byte at most); "host" in both lists takes 4 + 1 and 4 + 3, and the
    /// encoder wants room for 12.
    static func capacity(for headers: [(name: String, value: String)]) -> (lines: Int, total: Int) {
        var lines = 0
        var names = 20
        for (name, value) in headers {
            let nameCount = name.utf8.count
            lines += nameCount + value.utf8.count + 2
            names += 4 * nameCount + 4
        }
        return (lines, 2 * lines + names)
    }
}

/// Where one header's line lies among the lines as given.
private struct HeaderLine {
    var start: Int
    var nameEnd: Int
    var end: Int

    /// The lowercase name, in the lines as given at `base`.
    func name(in base: UnsafePointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + start, count: nameEnd - start)
    }

    /// The whole `name:value\n` line, in the lines as given at `base`.
    func whole(in base: UnsafePointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + start, count: end - start)
    }
}

extension HeaderPlan {
    /// Checks and canonicalises the headers to sign into `scratch` (`HeaderPlan.capacity`),
    /// allocating nothing: each line is written once, lowercase name and canonical value, at the
    /// start of the scratch, and copied in name order after them only when they came in another
    /// order. A request has a handful of headers at most (most have one), so they are sorted by
    /// insertion as they come.
    static func make(
        _ headers: [(name: String, value: String)], linesCapacity: Int, into scratch: UnsafeMutableBufferPointer<UInt8>
    ) throws(SigV4Error) -> HeaderPlan {
        try withUnsafeTemporaryAllocation(of: HeaderLine.self, capacity: headers.count) {
            (sorted) throws(SigV4Error) -> HeaderPlan in
            var given = ByteWriter(UnsafeMutableBufferPointer(rebasing: scratch[..<linesCapacity]))
            // (Through a constant: a nested function that captured the writer would have its
            // every access checked for exclusivity at run time.)
            let givenBase = UnsafePointer(given.base)
            func name(_ line: HeaderLine) -> UnsafeBufferPointer<UInt8> { line.name(in: givenBase) }
            var inGivenOrder = true
            var namesUnreserved = true
            for (index, header) in headers.enumerated() {
                let start = given.count
                switch header.name.utf8.withContiguousBytes({ given.appendLowercaseToken($0) }) {
                case .notToken: throw SigV4Error(.invalidHeader, "header name must be a non-empty HTTP token")
                case .token: namesUnreserved = false
                case .unreserved: break
                }
                var line = HeaderLine(start: start, nameEnd: given.count, end: 0)
                let lowerName = name(line)
                func problem(_ text: String) -> SigV4Error {
                    SigV4Error(.invalidHeader, "header \(String(decoding: lowerName, as: UTF8.self)) \(text)")
                }
                guard !CanonicalHeaders.isUnsignable(lowerName) else {
                    throw problem("cannot be signed into a presigned URL")
                }
                var slot = index
                while slot > 0 && lowerName.lexicographicallyPrecedes(name(sorted[slot - 1])) {
                    sorted[slot] = sorted[slot - 1]
                    slot -= 1
                    inGivenOrder = false
                }
                // Every name before `slot` sorts before or equal to this one.
                guard slot == 0 || !name(sorted[slot - 1]).elementsEqual(lowerName) else {
                    throw problem("is given twice")
                }
                given.append(UInt8(ascii: ":"))
                guard header.value.utf8.withContiguousBytes({ given.appendCheckedHeaderValue($0) }) else {
                    throw problem("value must be printable US-ASCII")
                }
                given.append(UInt8(ascii: "\n"))
                line.end = given.count
                sorted[slot] = line
            }
            // The host line goes after the names that sort before "host" (none is "host").
            let host: StaticString = "host"
            let hostBytes = UnsafeBufferPointer(start: host.utf8Start, count: host.utf8CodeUnitCount)
            var hostSlot = 0
            while hostSlot < headers.count && name(sorted[hostSlot]).lexicographicallyPrecedes(hostBytes) {
                hostSlot += 1
            }
            var out = ByteWriter(UnsafeMutableBufferPointer(rebasing: scratch[linesCapacity...]))
            let lines: UnsafeBufferPointer<UInt8>
            let hostAt: Int
            if inGivenOrder {
                lines = given.written
                hostAt = hostSlot < headers.count ? sorted[hostSlot].start : given.count
            } else {
                for slot in 0..<hostSlot { out.append(sorted[slot].whole(in: givenBase)) }
                hostAt = out.count
                for slot in hostSlot..<headers.count { out.append(sorted[slot].whole(in: givenBase)) }
                lines = out.written
            }
            // The signed names in order, host among them: joined by `;`, then encoded and joined
            // by `%3B` (names of letters, digits and `-._~`, nearly all, are their own encoding).
            let namesStart = out.count
            appendNames(sorted, hostSlot: hostSlot, in: givenBase, separator: ";", encoded: false, to: &out)
            let signedEnd = out.count
            appendNames(
                sorted, hostSlot: hostSlot, in: givenBase, separator: "%3B", encoded: !namesUnreserved, to: &out)
            return HeaderPlan(
                lines: lines, hostAt: hostAt, signedHeaders: out.bytes(namesStart..<signedEnd),
                encodedSignedHeaders: out.bytes(signedEnd..<out.count))
        }
    }

    /// Appends the signed names of `sorted` (the lines as given at `base`, in name order) joined by
    /// `separator`, with host at `hostSlot`; each name URI-encoded when `encoded`.
    @inline(__always)
    private static func appendNames(
        _ sorted: UnsafeMutableBufferPointer<HeaderLine>, hostSlot: Int, in base: UnsafePointer<UInt8>,
        separator: StaticString, encoded: Bool, to out: inout ByteWriter
    ) {
        for slot in 0..<hostSlot {
            append(sorted[slot].name(in: base), encoded: encoded, to: &out)
            out.append(separator)
        }
        out.append("host")
        for slot in hostSlot..<sorted.count {
            out.append(separator)
            append(sorted[slot].name(in: base), encoded: encoded, to: &out)
        }
    }

    @inline(__always)
    private static func append(_ name: UnsafeBufferPointer<UInt8>, encoded: Bool, to out: inout ByteWriter) {
        if encoded {
            out.appendEncoded(name, keepSlash: false)
        } else {
            out.append(name)
        }
    }
}
