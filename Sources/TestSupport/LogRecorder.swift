import Logging
import Synchronization

/// Keeps every event a `Logger` writes, so tests can check what is (and is not) logged.
package final class LogRecorder: Sendable {
    /// One logged event.
    package struct Record: Sendable {
        package var level: Logger.Level
        package var message: String
        /// The handler's and the event's metadata, each value as text.
        package var fields: [String: String]
    }

    private let label: String
    private let stored = Mutex<[Record]>([])

    package init(label: String = "test") {
        self.label = label
    }

    /// A logger at `trace` that records into this recorder.
    package var logger: Logger {
        Logger(label: label) { _ in RecordingLogHandler(recorder: self) }
    }

    /// Every event so far.
    package var records: [Record] { stored.withLock { $0 } }

    /// Every event so far as `<level> <message> <key=value …, sorted>`.
    package var all: [String] {
        records.map { record in
            let fields = record.fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return "\(record.level) \(record.message) " + fields.joined(separator: " ")
        }
    }

    fileprivate func append(_ record: Record) {
        stored.withLock { $0.append(record) }
    }
}

private struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        recorder.append(
            LogRecorder.Record(level: event.level, message: event.message.description, fields: merged.mapValues { "\($0)" }))
    }
}
