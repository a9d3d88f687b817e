#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes text to a file descriptor (stderr for notes that must not mix with a printed URL).
struct FileOutput {
    static let standardError = FileOutput(descriptor: 2)

    let descriptor: Int32

    func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Writes all of `bytes`, retrying short writes and interruptions; gives up on any other error
    /// (there is nowhere left to report it).
    private func write(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let written = writeBytes(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}

/// libc's write(2), outside `FileOutput` whose `write(_:)` would shadow it.
private func writeBytes(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

/// Prints a line to standard error.
func printError(_ text: String) {
    FileOutput.standardError.write(text + "\n")
}
