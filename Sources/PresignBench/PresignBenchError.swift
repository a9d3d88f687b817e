/// A benchmark that could not set up what it measures (the measurement itself never throws this).
struct PresignBenchError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
