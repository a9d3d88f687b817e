import NIOCore

/// Writes commands as RESP2 arrays of bulk strings (`*N\r\n$len\r\narg\r\n…`), the only request
/// form Redis parses without its inline-command limits, and binary-safe.
enum RESPRequestEncoder {
    static func encode(_ arguments: [String], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(arguments.count, into: &buffer)
        for argument in arguments {
            buffer.writeInteger(UInt8(ascii: "$"))
            writeDecimal(argument.utf8.count, into: &buffer)
            buffer.writeString(argument)
            buffer.writeStaticString("\r\n")
        }
    }

    /// Writes `value` in decimal followed by CRLF. `String(Int)` fits the small-string form, so
    /// this allocates nothing.
    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(value))
        buffer.writeStaticString("\r\n")
    }
}
