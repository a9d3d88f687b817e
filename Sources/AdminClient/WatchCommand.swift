import ArgumentParser
import Foundation
import Logging
import NIOPosix
import Redis

/// `presignctl watch`: follow revocation events, resuming from a saved event id.
package struct WatchCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print revocation events as they happen (SUBSCRIBE invalidations; needs the admin role).",
        discussion: """
            With an event id (--from, or the one saved in --state-file) it first replays what \
            happened after that id (REPLAY), then follows live, printing each event with its id and \
            saving the last id seen to --state-file, so the next run resumes there (a new \
            state file starts with the first event seen). If presignd's \
            event stream no longer reaches back that far it says RESYNC: events were missed and \
            anything cached from before must be treated as stale. Without an id, live events are \
            printed as they come (each with its id), and a lost connection is reported as a possible gap. \
            Runs until interrupted.

            EXAMPLES
              presignctl watch
              presignctl watch --state-file /var/lib/presignctl/watch.id --json
            """)

    @Option(help: ArgumentHelp("Replay the events after this event id first.", valueName: "event-id"))
    var from: String?
    @Option(help: ArgumentHelp("Read the id to resume from here, and keep the last id seen in it.", valueName: "path"))
    var stateFile: String?

    @OptionGroup var connection: ConnectionOptions

    /// The events replayed per `REPLAY` request.
    static let replayPage = 1000

    package init() {}

    package func run() async throws {
        let json = connection.json
        var lastID = from ?? savedID()
        if let id = lastID, !Self.isEventID(id) {
            let source = from != nil ? "--from" : "the state file \(stateFile ?? "")"
            throw AdminFailure(
                code: "USAGE", message: "\(source) does not hold an event id (<ms>-<seq>, as events carry)",
                status: .error)
        }
        let admin = try await AdminConnection.open(connection)
        let subscriber: RedisSubscriber
        do {
            // Subscribe first, then catch up: an event revoked in between then arrives twice (once
            // replayed, once live) rather than not at all, and the live copy is skipped by its id.
            subscriber = try await subscribe()
            if let id = lastID { lastID = try await replay(after: id, on: admin, json: json) }
        } catch {
            await admin.close()
            throw error
        }
        do {
            for await event in subscriber.events {
                switch event {
                case .subscribed:
                    note("watching", "following live events", json: json)
                case .message(let message):
                    // presignd puts each event's stream id first in the event (`event_id`).
                    let eventID = Self.eventID(in: message.text)
                    if let eventID, let last = lastID, !Self.isAfter(eventID, last) { continue }
                    // Saved before it is printed: whoever reads the line finds the state file current.
                    if let eventID, stateFile != nil || lastID != nil {
                        lastID = eventID
                        save(eventID)
                    }
                    AdminOutput.emit(AdminOutput.event(message.text, eventID: eventID, json: json))
                case .reconnected, .overflowed:
                    if let id = lastID {
                        note("reconnected", "catching up after event \(id)", json: json)
                        lastID = try await replay(after: id, on: admin, json: json)
                    } else {
                        note(
                            "gap",
                            "events published while not listening were missed (use --from or --state-file to catch up)",
                            json: json)
                    }
                }
            }
        } catch {
            await subscriber.shutdown()
            await admin.close()
            throw error
        }
        await subscriber.shutdown()
        await admin.close()
    }

    /// The `event_id` presignd puts in each event it delivers.
    static func eventID(in payload: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else {
            return nil
        }
        return object["event_id"] as? String
    }

    /// Whether `id` is a stream id as REPLAY takes it: `<ms>-<seq>` or `<ms>`, decimal.
    package static func isEventID(_ id: String) -> Bool {
        let pieces = id.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        return (1...2).contains(pieces.count)
            && pieces.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (48...57).contains($0) } && UInt64($0) != nil }
    }

    /// Whether stream id `a` (`ms-seq`) comes after `b`.
    static func isAfter(_ a: String, _ b: String) -> Bool {
        func parts(_ id: String) -> (UInt64, UInt64) {
            let pieces = id.split(separator: "-", maxSplits: 1)
            return (UInt64(pieces.first ?? "") ?? 0, pieces.count > 1 ? UInt64(pieces[1]) ?? 0 : 0)
        }
        let (x, y) = (parts(a), parts(b))
        return x.0 != y.0 ? x.0 > y.0 : x.1 > y.1
    }

    /// Prints the events after `id`, oldest first, and returns the last id printed (or `id` when none);
    /// nil after a RESYNC, when there is no valid resume point any more.
    private func replay(after id: String, on admin: AdminConnection, json: Bool) async throws(AdminFailure) -> String? {
        var last = id
        while true {
            let reply: RESPValue
            do {
                reply = try await admin.send(["REPLAY", last, "COUNT", String(Self.replayPage)], name: "REPLAY")
            } catch  where error.code == "RESYNC" {
                note(
                    "RESYNC",
                    "presignd's event stream no longer reaches back to \(last): events were missed; treat anything cached before now as stale",
                    json: json)
                save(nil)
                return nil
            }
            guard let pairs = reply.array else { throw .unexpectedReply(to: "REPLAY") }
            for pair in pairs {
                guard let elements = pair.array, elements.count == 2, let eventID = elements[0].string,
                    let payload = elements[1].string
                else { throw .unexpectedReply(to: "REPLAY") }
                AdminOutput.emit(AdminOutput.event(payload, eventID: eventID, json: json))
                last = eventID
            }
            save(last)
            if pairs.count < Self.replayPage { return last }
        }
    }

    private func subscribe() async throws(AdminFailure) -> RedisSubscriber {
        let authentication = Authentication()
        let subscriber = RedisSubscriber(
            configuration: try connection.redisConfiguration(authentication), channels: ["invalidations"],
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
            logger: Logger(label: "presignctl", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            try await subscriber.waitUntilSubscribed()
        } catch {
            await subscriber.shutdown()
            if let refused = error as? RedisClientError, refused.message.contains("SUBSCRIBE answered") {
                throw AdminFailure(
                    code: "SUBSCRIBE", message: "presignd refused SUBSCRIBE invalidations", status: .error)
            }
            throw authentication.failure(connecting: connection.endpoint, error)
        }
        return subscriber
    }

    private func savedID() -> String? {
        guard let stateFile, let text = try? String(contentsOfFile: stateFile, encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    /// Keeps `id` in the state file (written whole then renamed, so a crash never leaves half an id).
    private func save(_ id: String?) {
        guard let stateFile else { return }
        try? ((id ?? "") + "\n").write(toFile: stateFile, atomically: true, encoding: .utf8)
    }

    /// Notices go to stderr in text mode so stdout stays one event per line.
    private func note(_ kind: String, _ message: String, json: Bool) {
        let line = AdminOutput.notice(kind, message, json: json)
        if json {
            AdminOutput.emit(line)
        } else {
            AdminOutput.emitError(line)
        }
    }
}
