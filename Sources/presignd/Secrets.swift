
#if canImport(Glibc)
    import Glibc
#endif

/// 32 random bytes from the kernel as unpadded base64url: a client secret.
func randomSecret() -> String {
    var bytes = [UInt8](repeating: 0, count: 32)
    let device = open("/dev/urandom", O_RDONLY)
    precondition(device >= 0, "cannot open /dev/urandom")
    let filled = bytes.withUnsafeMutableBytes { read(device, $0.baseAddress, 32) }
    close(device)
    precondition(filled == 32, "short read from /dev/urandom")
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
        let chunk = bytes[index..<min(index + 3, bytes.count)]
        let value = chunk.enumerated().reduce(0) { $0 | Int($1.element) << (16 - 8 * $1.offset) }
        for position in 0..<(chunk.count + 1) {
            out.append(alphabet[(value >> (18 - 6 * position)) & 63])
        }
        index += 3
    }
    return String(decoding: out, as: UTF8.self)
}
