import NIOCore
import SigV4
import Wire

#if FUZZING
    import CLibFuzzer
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// libFuzzer entry points for the parsers that read what unauthenticated peers send: the line
/// protocol's request decoder and the presigned-URL verifier (the gateway endpoint's input).
/// `scripts/fuzz` builds this with `-sanitize=fuzzer,address -D FUZZING`: `main` then hands the
/// command line to libFuzzer's driver; `PRESIGND_FUZZ=wire|url` picks the harness.
///
/// Each input must end without a crash, a sanitizer report or a leak, and the decoder must never
/// hold more than its limits allow.
enum Harness {
    static let selected: String = {
        guard let name = getenv("PRESIGND_FUZZ") else { return "wire" }
        return String(cString: name)
    }()

    /// Feeds `data` to a request decoder in pieces of varying size (the first byte picks the piece
    /// length), as a socket would deliver it, until it fails or needs more bytes.
    static func wire(_ data: UnsafeRawBufferPointer) {
        let limits = WireLimits()
        var decoder = RequestDecoder(limits: limits)
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        let step = max(1, Int(data.first ?? 1))
        var offset = 0
        while offset < data.count {
            let end = min(data.count, offset + step)
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: data[offset..<end]))
            offset = end
            do {
                while let request = try decoder.decode(buffer: &buffer) {
                    precondition(!request.isEmpty && request.count <= limits.maxArguments, "request out of limits")
                }
            } catch {
                return
            }
        }
    }

    static let verifier = PresignVerifier(secrets: [
        "AKIAIOSFODNN7EXAMPLE": AccessKeySecret(
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
    ])

    /// Verifies `data` (decoded as UTF-8, invalid bytes repaired, as a header value would be) as a
    /// presigned URL for each method.
    static func url(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        for method in ["GET", "PUT", "HEAD", "DELETE", "PATCH"] {
            _ = verifier.verify(
                method: method, url: text, signedHost: "examplebucket.s3.amazonaws.com",
                headers: { $0 == "content-type" ? "text/plain" : nil }, now: 1_369_353_600)
        }
    }
}

/// One input, as libFuzzer hands it over.
private func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = UnsafeRawBufferPointer(start: start, count: count)
    switch Harness.selected {
    case "url": Harness.url(data)
    default: Harness.wire(data)
    }
    return 0
}

@main
enum PresigndFuzz {
    static func main() {
        #if FUZZING
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzzOne($0, $1) })
        #else
            print("presignd-fuzz: build and run it with scripts/fuzz (libFuzzer)")
            exit(2)
        #endif
    }
}
