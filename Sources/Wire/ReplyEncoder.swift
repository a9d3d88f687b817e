import NIOCore

/// Writes ``Reply`` values as RESP2 or RESP3 bytes.
///
/// A connection starts as RESP2 and switches after `HELLO 3` by setting ``version``; every reply
/// written after that uses the RESP3 types (map, push, null, verbatim).
package struct ReplyEncoder: Sendable {
    /// The protocol version replies are written in.
    package var version: RESPVersion

    /// Creates an encoder writing `version`.
    package init(version: RESPVersion = .resp2) {
        self.version = version
    }

    /// Appends `reply` to `buffer`.
    package func encode(_ reply: Reply, into buffer: inout ByteBuffer) {
        switch reply {
        case .simple(let string):
            buffer.writeInteger(UInt8(ascii: "+"))
            Self.writeLine(string, into: &buffer)
            buffer.writeCRLF()
        case .error(let code, let message):
            buffer.writeInteger(UInt8(ascii: "-"))
            Self.writeLine(code, into: &buffer)
            if !message.isEmpty {
                buffer.writeInteger(UInt8(ascii: " "))
                Self.writeLine(message, into: &buffer)
            }
            buffer.writeCRLF()
        case .integer(let value):
            buffer.writeHeader(":", value)
        case .bulk(let bytes):
            buffer.writeHeader("$", bytes.readableBytes)
            buffer.writeImmutableBuffer(bytes)
            buffer.writeCRLF()
        case .null:
            switch self.version {
            case .resp2: buffer.writeStaticString("$-1\r\n")
            case .resp3: buffer.writeStaticString("_\r\n")
            }
        case .array(let elements):
            buffer.writeHeader("*", elements.count)
            for element in elements { self.encode(element, into: &buffer) }
        case .map(let pairs):
            switch self.version {
            case .resp2: buffer.writeHeader("*", pairs.count * 2)
            case .resp3: buffer.writeHeader("%", pairs.count)
            }
            for pair in pairs {
                self.encode(pair.key, into: &buffer)
                self.encode(pair.value, into: &buffer)
            }
        case .push(let elements):
            buffer.writeHeader(self.version == .resp3 ? ">" : "*", elements.count)
            for element in elements { self.encode(element, into: &buffer) }
        case .verbatim(let text):
            let length = text.utf8.count
            switch self.version {
            case .resp2:
                buffer.writeHeader("$", length)
            case .resp3:
                // RESP3 verbatim: the length counts the 3-letter format and its colon.
                buffer.writeHeader("=", length + 4)
                buffer.writeStaticString("txt:")
            }
            buffer.writeString(text)
            buffer.writeCRLF()
        }
    }

    /// Writes one line of a simple string or error: a CR or LF inside would end the reply early and
    /// let the rest be read as another reply, so each becomes a space.
    private static func writeLine(_ string: String, into buffer: inout ByteBuffer) {
        let utf8 = string.utf8
        if !utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
            buffer.writeString(string)
            return
        }
        for byte in utf8 {
            buffer.writeInteger(byte == 0x0D || byte == 0x0A ? UInt8(ascii: " ") : byte)
        }
    }
}

extension ByteBuffer {
    fileprivate mutating func writeCRLF() {
        self.writeInteger(UInt16(0x0D0A))  // big-endian by default: "\r\n"
    }

    /// Writes a type marker, a decimal number and CRLF: `*3\r\n`, `$5\r\n`, `:42\r\n`.
    fileprivate mutating func writeHeader(_ marker: Unicode.Scalar, _ value: Int) {
        self.writeInteger(UInt8(ascii: marker))
        // A decimal Int fits in a small (inline, allocation-free) String.
        self.writeString(String(value))
        self.writeCRLF()
    }
}
