import NIOCore

extension RequestDecoder {
    private enum MultibulkStep {
        /// The request is incomplete; resume at `cursor` (the `$` of the first incomplete argument).
        case needMore(cursor: Int)
        /// Every argument is in ``RequestDecoder/argumentRanges``; the request ends at `end`.
        case complete(end: Int)
        case failed(WireError)
    }

    /// Reads the `$<len>\r\n<bytes>\r\n` arguments of a multibulk request from `cursor` on. An incomplete
    /// argument is read again from its `$` when more bytes come: re-reading a header of at most 22 bytes
    /// costs less than keeping one more state, and the data of a partial bulk is never scanned.
    mutating func decodeMultibulk(
        _ buffer: inout ByteBuffer, count: Int, cursor start: Int
    ) throws(WireError) -> [ByteBuffer]? {
        let maxBulk = self.limits.maxBulkBytes
        let step = buffer.withUnsafeReadableBytes { bytes -> MultibulkStep in
            var cursor = start
            while self.argumentRanges.count < count {
                guard cursor < bytes.count else { return .needMore(cursor: cursor) }
                guard bytes[cursor] == UInt8(ascii: "$") else { return .failed(.expectedBulk(got: bytes[cursor])) }
                switch Self.scanLength(bytes, from: cursor + 1) {
                case .needMore:
                    return .needMore(cursor: cursor)
                case .malformed:
                    return .failed(WireError(.invalidBulkLength, "Protocol error: invalid bulk length"))
                case .value(let length, let dataStart):
                    guard length >= 0 else {
                        return .failed(WireError(.invalidBulkLength, "Protocol error: invalid bulk length"))
                    }
                    guard length <= maxBulk else {
                        return .failed(
                            .limit(
                                .bulkTooLong, what: "bulk length", value: length,
                                limitName: self.limits.quoted(WireLimits.maxBulkBytesName), limit: maxBulk))
                    }
                    let dataEnd = dataStart + length
                    guard dataEnd + 2 <= bytes.count else { return .needMore(cursor: cursor) }
                    guard bytes[dataEnd] == UInt8(ascii: "\r"), bytes[dataEnd + 1] == UInt8(ascii: "\n") else {
                        return .failed(
                            WireError(.missingBulkTerminator, "Protocol error: expected CRLF after bulk data"))
                    }
                    self.argumentRanges.append(dataStart..<dataEnd)
                    cursor = dataEnd + 2
                }
            }
            return .complete(end: cursor)
        }

        switch step {
        case .needMore(let cursor):
            self.phase = .multibulk(count: count, cursor: cursor)
            return nil
        case .failed(let error):
            throw error
        case .complete(let end):
            let base = buffer.readerIndex
            var arguments: [ByteBuffer] = []
            arguments.reserveCapacity(count)
            for range in self.argumentRanges {
                // In bounds by construction: every range was checked against the readable bytes above.
                arguments.append(buffer.getSlice(at: base + range.lowerBound, length: range.count)!)
            }
            self.argumentRanges.removeAll(keepingCapacity: true)
            buffer.moveReaderIndex(forwardBy: end)
            self.phase = .idle
            return arguments
        }
    }
}
