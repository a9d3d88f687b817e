import NIOCore
import Wire

/// Feeds bytes to a `RequestDecoder` through NIO's own cumulating processor (what `ByteToMessageHandler`
/// does on a channel), in one piece, byte by byte, or in given chunk sizes.
enum Feeding: String, CaseIterable, Sendable, CustomStringConvertible {
    case whole
    case byteByByte

    var description: String { self.rawValue }

    /// What decoding produced: the requests (each argument as bytes) and the error that ended it, if any.
    struct Outcome: Equatable {
        var requests: [[[UInt8]]] = []
        var error: WireError?
    }

    func decode(_ bytes: [UInt8], limits: WireLimits = WireLimits()) -> Outcome {
        switch self {
        case .whole: return Self.decode(bytes, chunkSizes: [bytes.count], limits: limits)
        case .byteByByte: return Self.decode(bytes, chunkSizes: [1], limits: limits)
        }
    }

    /// Feeds `bytes` in chunks whose sizes cycle through `chunkSizes`, then signals end of input.
    static func decode(_ bytes: [UInt8], chunkSizes: [Int], limits: WireLimits = WireLimits()) -> Outcome {
        let processor = NIOSingleStepByteToMessageProcessor(RequestDecoder(limits: limits))
        var outcome = Outcome()
        let receive: ([ByteBuffer]) -> Void = { request in
            outcome.requests.append(request.map { Array($0.readableBytesView) })
        }
        do {
            var offset = 0
            var chunk = 0
            while offset < bytes.count {
                let size = max(1, min(chunkSizes[chunk % chunkSizes.count], bytes.count - offset))
                try processor.process(buffer: ByteBuffer(bytes: bytes[offset..<offset + size]), receive)
                offset += size
                chunk += 1
            }
            try processor.finishProcessing(seenEOF: true, receive)
        } catch let error as WireError {
            outcome.error = error
        } catch {
            fatalError("decoder threw a non-WireError: \(error)")
        }
        return outcome
    }
}

extension Array where Element == UInt8 {
    /// The UTF-8 bytes of `string`; test tables write requests as text with escapes.
    init(_ string: String) { self = Array(string.utf8) }
}

/// A small seeded generator (SplitMix64), so every random test run is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Encodes arguments as a RESP multibulk request, the way every Redis client sends commands.
func multibulk(_ arguments: [[UInt8]]) -> [UInt8] {
    var bytes = Array("*\(arguments.count)\r\n")
    for argument in arguments {
        bytes += Array("$\(argument.count)\r\n") + argument + Array("\r\n")
    }
    return bytes
}

func multibulk(_ arguments: String...) -> [UInt8] {
    multibulk(arguments.map { Array($0) })
}
