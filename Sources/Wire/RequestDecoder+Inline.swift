import NIOCore

extension RequestDecoder {
    /// One word of an inline command: a range of the line (relative to the line's start) when it
    /// needed no unquoting, else its unquoted bytes.
    enum InlineWord: Equatable {
        case slice(Range<Int>)
        case bytes([UInt8])
    }

    /// Takes one inline line off `buffer` and splits it into words; an empty array is an empty line
    /// (consumed, no request). `scanned` bytes are already known to hold no `\n`.
    mutating func decodeInline(_ buffer: inout ByteBuffer, scanned: Int) throws(WireError) -> [ByteBuffer]? {
        let limit = self.limits.maxInlineBytes
        // The longest acceptable line is `limit` bytes and `\r\n`: no need to look further for its end.
        let window = min(buffer.readableBytes, limit + 2)
        let found = buffer.withUnsafeReadableBytes { bytes -> (newline: Int?, lastIsCR: Bool) in
            let newline = bytes[scanned..<window].firstIndex(of: UInt8(ascii: "\n"))
            return (newline, bytes.last == UInt8(ascii: "\r"))
        }
        guard let newline = found.newline else {
            // No end yet: a line already longer than the limit fails now instead of growing the buffer.
            let pending = buffer.readableBytes - (found.lastIsCR ? 1 : 0)
            guard pending <= limit else { throw self.inlineTooLong() }
            self.phase = .inline(scanned: window)
            return nil
        }
        let split = buffer.withUnsafeReadableBytes { bytes -> Result<[InlineWord], WireError> in
            var end = newline
            if end > 0 && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            guard end <= limit else { return .failure(self.inlineTooLong()) }
            return Self.splitInline(
                UnsafeRawBufferPointer(rebasing: bytes[0..<end]), maxArguments: self.limits.maxArguments,
                limitName: self.limits.quoted(WireLimits.maxArgumentsName))
        }
        let words = try split.get()
        let base = buffer.readerIndex
        let arguments = words.map { word -> ByteBuffer in
            switch word {
            case .slice(let range):
                // In bounds by construction: the range lies within the line found above.
                return buffer.getSlice(at: base + range.lowerBound, length: range.count)!
            case .bytes(let bytes):
                return ByteBuffer(bytes: bytes)
            }
        }
        buffer.moveReaderIndex(forwardBy: newline + 1)
        self.phase = .idle
        return arguments
    }

    /// The line's length is not in the message: how much of an endless line had arrived when it
    /// failed depends on how the bytes were split into reads, and the error must not.
    private func inlineTooLong() -> WireError {
        let limit = self.limits.maxInlineBytes
        return WireError(
            .inlineTooLong,
            "Protocol error: inline request exceeds \(self.limits.quoted(WireLimits.maxInlineBytesName)) (\(limit))")
    }

    /// Splits one inline line (without its terminator) into words exactly as Redis's `sdssplitargs`
    /// does, which is also how `redis-cli` splits what a person types:
    ///
    /// - words are separated by spaces, tabs, CR and LF (leading `\v` and `\f` are skipped too, but
    ///   inside an unquoted word they are ordinary bytes);
    /// - `"…"` takes `\n \r \t \b \a` escapes, `\xHH` (two hex digits) for any byte, and `\` before
    ///   any other byte stands for that byte (`\"`, `\\`);
    /// - `'…'` is literal except `\'`;
    /// - a quote may start mid-word (`a"b c"` is one word `ab c`), but a closing quote must be followed
    ///   by whitespace or the end of the line, and an unclosed quote is an error.
    ///
    /// A NUL byte anywhere in the line is an error. Redis looks for the line's end with `strchr`, which
    /// stops at a NUL, so such a line never ends there: the connection hangs until the 64 KiB inline
    /// limit. A clear error is better than imitating that.
    static func splitInline(
        _ line: UnsafeRawBufferPointer, maxArguments: Int, limitName: String = WireLimits.maxArgumentsName
    ) -> Result<[InlineWord], WireError> {
        if line.contains(0) {
            return .failure(WireError(.nulInInline, "Protocol error: NUL byte in inline request"))
        }
        // Past the end reads as NUL, the C string terminator `sdssplitargs` relies on; with no NUL
        // inside the line, a 0 read here always means the end.
        func at(_ index: Int) -> UInt8 { index < line.count ? line[index] : 0 }
        let unbalanced = WireError(.unbalancedQuotes, "Protocol error: unbalanced quotes in request")

        var words: [InlineWord] = []
        var count = 0
        var index = 0
        while true {
            while isSpace(at(index)) { index += 1 }
            if at(index) == 0 { break }

            let start = index
            // Stays nil while the word is a plain run of the line; holds the unquoted bytes once a
            // quote is seen.
            var unquoted: [UInt8]? = nil
            // The open quote, `"` or `'`, while inside one.
            var quote: UInt8? = nil
            var done = false
            var plainEnd = start
            while !done {
                let byte = at(index)
                if let quote {
                    let double = quote == UInt8(ascii: "\"")
                    if double && byte == UInt8(ascii: "\\") && at(index + 1) == UInt8(ascii: "x")
                        && isHexDigit(at(index + 2)) && isHexDigit(at(index + 3))
                    {
                        unquoted!.append(hexValue(at(index + 2)) << 4 | hexValue(at(index + 3)))
                        index += 3
                    } else if double && byte == UInt8(ascii: "\\") && at(index + 1) != 0 {
                        index += 1
                        unquoted!.append(unescaped(at(index)))
                    } else if !double && byte == UInt8(ascii: "\\") && at(index + 1) == UInt8(ascii: "'") {
                        index += 1
                        unquoted!.append(UInt8(ascii: "'"))
                    } else if byte == quote {
                        let next = at(index + 1)
                        if next != 0 && !isSpace(next) { return .failure(unbalanced) }
                        done = true
                    } else if byte == 0 {
                        return .failure(unbalanced)
                    } else {
                        unquoted!.append(byte)
                    }
                } else {
                    switch byte {
                    case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"), 0:
                        done = true
                        plainEnd = index
                    case UInt8(ascii: "\""), UInt8(ascii: "'"):
                        quote = byte
                        if unquoted == nil { unquoted = Array(line[start..<index]) }
                    default:
                        unquoted?.append(byte)
                    }
                }
                // `sdssplitargs` steps past the byte it just handled unless it is the terminating NUL.
                if at(index) != 0 { index += 1 }
            }
            // Past the limit words are only counted, so the error can say how many there were.
            if count < maxArguments {
                words.append(unquoted.map { .bytes($0) } ?? .slice(start..<plainEnd))
            }
            count += 1
        }
        guard count <= maxArguments else {
            return .failure(
                .limit(
                    .tooManyArguments, what: "argument count", value: count,
                    limitName: limitName, limit: maxArguments))
        }
        return .success(words)
    }
}

/// `isspace` in the C locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
private func isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
}

private func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x66)
}

/// The value of a byte `isHexDigit` accepted.
private func hexValue(_ byte: UInt8) -> UInt8 {
    byte <= 0x39 ? byte - 0x30 : (byte | 0x20) - 0x61 + 10
}

/// The byte a backslash escape inside double quotes stands for.
private func unescaped(_ byte: UInt8) -> UInt8 {
    switch byte {
    case UInt8(ascii: "n"): return 0x0A
    case UInt8(ascii: "r"): return 0x0D
    case UInt8(ascii: "t"): return 0x09
    case UInt8(ascii: "b"): return 0x08
    case UInt8(ascii: "a"): return 0x07
    default: return byte
    }
}
