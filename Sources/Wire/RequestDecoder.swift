import NIOCore

/// Splits the bytes of one client connection into requests, each the list of its arguments
/// (command name first), exactly as Redis reads them: RESP multibulk arrays and inline command lines,
/// freely mixed and pipelined.
///
/// Arguments are `ByteBuffer` slices of the bytes as received: a multibulk argument and an unquoted
/// inline word are never copied (a slice shares the received storage), and only inline words that
/// needed unquoting get fresh storage. `[[UInt8]]` would cost one allocation and copy per argument on
/// every request, and the broker reads arguments once.
///
/// The decoder is bounded: a length header over a limit (`$1073741824`, `*100000`) fails as soon as its
/// `\r\n` arrives, before any of its data, and an inline line fails as soon as it is longer than
/// ``WireLimits/maxInlineBytes``, newline or not. So an incomplete request never holds more than the
/// limits allow: one inline line, or ``WireLimits/maxArguments`` bulk strings of at most
/// ``WireLimits/maxBulkBytes`` each.
///
/// Any ``WireError`` leaves the decoder failed (it throws the same error again): the connection's
/// framing can no longer be trusted, and the caller answers `-ERR` and closes it.
package struct RequestDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = [ByteBuffer]

    /// The limits this decoder enforces, from the next request on (a connection that authenticates
    /// moves from `WireLimits.beforeAuthenticating` to its configured ones).
    package var limits: WireLimits

    /// Where decoding of the request at the buffer's reader index stands. Offsets are relative to the
    /// reader index, which does not move until a whole request is taken: the handler may compact or grow
    /// its buffer between calls, and relative offsets stay right through both.
    enum Phase {
        case idle
        /// An inline line whose first `scanned` bytes hold no `\n`.
        case inline(scanned: Int)
        /// A multibulk request of `count` arguments; ``argumentRanges`` holds those complete so far,
        /// and the next one starts at `cursor`.
        case multibulk(count: Int, cursor: Int)
    }

    var phase: Phase = .idle
    /// Ranges (relative to the reader index) of the complete arguments of a pending multibulk request.
    /// Kept as ranges, not slices, until the request is whole: a slice would share the handler's
    /// buffer and make every later append to it copy the whole buffer.
    var argumentRanges: [Range<Int>] = []
    private var failure: WireError?

    /// Creates a decoder enforcing `limits`.
    package init(limits: WireLimits = WireLimits()) {
        self.limits = limits
    }

    /// Takes the next whole request off `buffer`, or returns nil (consuming nothing of an incomplete
    /// request) when more bytes are needed. Empty inline lines and `*0` / `*-1` are consumed and
    /// skipped, as Redis does.
    package mutating func decode(buffer: inout ByteBuffer) throws -> [ByteBuffer]? {
        if let failure = self.failure { throw failure }
        do {
            return try self.decodeRequest(&buffer)
        } catch {
            self.failure = error
            throw error
        }
    }

    /// Like ``decode(buffer:)``; a request cut short by the end of input is dropped, as Redis drops it:
    /// nobody is left to answer.
    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> [ByteBuffer]? {
        try self.decode(buffer: &buffer)
    }

    private mutating func decodeRequest(_ buffer: inout ByteBuffer) throws(WireError) -> [ByteBuffer]? {
        while true {
            switch self.phase {
            case .idle:
                guard let first = buffer.readableBytesView.first else { return nil }
                guard first == UInt8(ascii: "*") else {
                    self.phase = .inline(scanned: 0)
                    continue
                }
                let scan = buffer.withUnsafeReadableBytes { Self.scanLength($0, from: 1) }
                switch scan {
                case .needMore:
                    return nil
                case .malformed:
                    throw WireError(.invalidMultibulkLength, "Protocol error: invalid multibulk length")
                case .value(let count, let next):
                    if count == 0 || count == -1 {
                        // Redis treats an empty or null array as no command at all.
                        buffer.moveReaderIndex(forwardBy: next)
                        continue
                    }
                    guard count > 0 else {
                        throw WireError(.invalidMultibulkLength, "Protocol error: invalid multibulk length")
                    }
                    guard count <= self.limits.maxArguments else {
                        throw .limit(
                            .tooManyArguments, what: "argument count", value: count,
                            limitName: self.limits.quoted(WireLimits.maxArgumentsName), limit: self.limits.maxArguments)
                    }
                    self.argumentRanges.removeAll(keepingCapacity: true)
                    self.argumentRanges.reserveCapacity(count)
                    self.phase = .multibulk(count: count, cursor: next)
                }
            case .inline(let scanned):
                guard let request = try self.decodeInline(&buffer, scanned: scanned) else { return nil }
                if request.isEmpty { continue }
                return request
            case .multibulk(let count, let cursor):
                return try self.decodeMultibulk(&buffer, count: count, cursor: cursor)
            }
        }
    }
}

extension RequestDecoder {
    /// The outcome of reading a `*<n>\r\n` or `$<n>\r\n` header's number.
    enum LengthScan: Equatable {
        case needMore
        case malformed
        /// The number, and the offset just past its `\r\n`.
        case value(Int, next: Int)
    }

    /// Reads the decimal number starting at `start` and its `\r\n`, with Redis's `string2ll` rules: an
    /// optional `-`, then `0` alone or digits without a leading zero, nothing else (no `+`, no spaces).
    ///
    /// Fails on the first byte that cannot belong to the number, so garbage never waits for more input;
    /// at most 19 digits are accepted (every `Int64`), so a header cannot run on.
    static func scanLength(_ bytes: UnsafeRawBufferPointer, from start: Int) -> LengthScan {
        var index = start
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let digitsStart = index
        var value = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\r") { break }
            let digit = Int(byte) &- 48
            guard digit >= 0 && digit <= 9, index - digitsStart < 19 else { return .malformed }
            let (times10, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times10.addingReportingOverflow(digit)
            guard !overflowA && !overflowB else { return .malformed }
            value = sum
            index += 1
        }
        guard index + 1 < bytes.count else { return .needMore }
        let digitCount = index - digitsStart
        guard bytes[index + 1] == UInt8(ascii: "\n"), digitCount > 0 else { return .malformed }
        let leadingZero = bytes[digitsStart] == UInt8(ascii: "0")
        guard !leadingZero || (digitCount == 1 && !negative) else { return .malformed }
        return .value(negative ? -value : value, next: index + 2)
    }
}
