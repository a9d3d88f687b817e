internal import CHiredis
import NIOCore

/// RESP2 reply parser: hiredis 0.14's `redisReader`, fed with the bytes a channel reads.
///
/// Not Sendable on purpose: a `redisReader` is not thread-safe, so each one lives inside one channel
/// handler and is only touched on that channel's event loop.
final class RESPReader {
    /// Why the bytes could not be parsed; the connection must be closed.
    struct Failure: Error {
        var message: String
    }

    private let reader: UnsafeMutablePointer<redisReader>
    private let maxReplyBytes: Int
    /// Bytes fed since the reader was created, and the stream offset where the last complete reply
    /// ended: their difference is the size of the reply being parsed so far, which is what
    /// `maxReplyBytes` bounds (hiredis buffers any announced bulk length, up to LLONG_MAX).
    private var bytesFed = 0
    private var lastReplyEnd = 0

    init(maxReplyBytes: Int) {
        guard let reader = redisReaderCreate() else {
            // hiredis aborts on OOM itself; a nil here means the same thing.
            fatalError("redisReaderCreate failed: out of memory")
        }
        // 0 = never shrink the idle buffer: a connection that saw one big reply keeps its buffer
        // instead of reallocating it for every later reply.
        reader.pointee.maxbuf = 0
        self.reader = reader
        self.maxReplyBytes = maxReplyBytes
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Appends bytes (hiredis copies them).
    func feed(_ buffer: ByteBuffer) throws(Failure) {
        let status = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return REDIS_OK }
            return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        guard status == REDIS_OK else { throw Failure(message: readerError()) }
        bytesFed += buffer.readableBytes
    }

    /// The next complete reply, or nil when more bytes are needed.
    func next() throws(Failure) -> RESPValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else { throw Failure(message: readerError()) }
        guard let raw else {
            let partial = bytesFed - lastReplyEnd
            if partial > maxReplyBytes { throw tooLarge() }
            return nil
        }
        defer { freeReplyObject(raw) }
        // Unparsed bytes still buffered all belong to later replies.
        let replyEnd = bytesFed - (reader.pointee.len - reader.pointee.pos)
        defer { lastReplyEnd = replyEnd }
        if replyEnd - lastReplyEnd > maxReplyBytes { throw tooLarge() }
        return Self.value(of: raw.assumingMemoryBound(to: redisReply.self))
    }

    private func tooLarge() -> Failure {
        Failure(message: "reply larger than maxReplyBytes (\(maxReplyBytes) bytes)")
    }

    private func readerError() -> String {
        let text = withUnsafeBytes(of: reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "malformed RESP2 reply" : text
    }

    private static func value(of reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .bulkString(bytes(r.str, r.len))
        case REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RESPValue] = []
            elements.reserveCapacity(r.elements)
            for index in 0..<r.elements {
                if let element = r.element[index] { elements.append(value(of: element)) }
            }
            return .array(elements)
        default:
            // REDIS_REPLY_NIL: a null bulk or a null array.
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
