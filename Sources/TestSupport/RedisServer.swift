import Foundation
import Subprocesses

/// A private `redis-server` for tests: its own temporary directory, a free loopback port and,
/// optionally, a Unix socket. Tests never touch a server they did not start, so nothing here
/// ever calls `FLUSHALL` on someone else's data.
///
/// The server is found on `PATH`; when it is missing, `start` throws with a message saying how
/// to install it, so a test fails clearly instead of skipping.
package final class RedisServer: Sendable {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    /// The TCP port on 127.0.0.1.
    package let port: Int
    /// The temporary directory holding the config, the data files and the log.
    package let directory: String
    /// The Unix socket path, when one was asked for.
    package let unixSocket: String?
    /// The ACL user `cli` (and the start-up `PING`) authenticates as; nil for none.
    package let cliUser: User?
    private let baseConfig: String?
    private let config: [String]
    private let sentinel: Bool
    private let process: LockedProcess

    /// An ACL user name and password.
    package struct User: Sendable {
        package var name: String
        package var password: String

        package init(name: String, password: String) {
            self.name = name
            self.password = password
        }
    }

    /// Starts a server. `config` lines are appended to the generated `redis.conf`
    /// (for example `appendonly yes`). With `sentinel`, it runs as a Sentinel (`--sentinel`), which
    /// rewrites that file as it learns the topology.
    package static func start(config: [String] = [], unixSocket: Bool = false, sentinel: Bool = false) throws
        -> RedisServer
    {
        try start(baseConfig: nil, config: config, unixSocket: unixSocket, cliUser: nil, sentinel: sentinel)
    }

    /// Starts a server from an existing configuration file such as `redis.conf.example`: its text,
    /// with each `replacing` key replaced by its value (passwords), then this fixture's own `bind`,
    /// `port`, `dir`, `logfile` and `unixsocket` (in the temporary directory) on top, since later
    /// lines win, then `config`. `cliUser` is who `cli` runs as, for files with `user default off`.
    package static func start(
        configFile: String, replacing: [String: String] = [:], config: [String] = [], cliUser: User? = nil
    ) throws -> RedisServer {
        var text = try String(contentsOfFile: configFile, encoding: .utf8)
        for (placeholder, value) in replacing {
            guard text.contains(placeholder) else {
                throw Failure(description: "\(configFile) does not contain \(placeholder)")
            }
            text = text.replacingOccurrences(of: placeholder, with: value)
        }
        return try start(baseConfig: text, config: config, unixSocket: true, cliUser: cliUser, sentinel: false)
    }

    private static func start(
        baseConfig: String?, config: [String], unixSocket: Bool, cliUser: User?, sentinel: Bool
    ) throws -> RedisServer {
        // A free port can be taken by another test's server between the check and the bind (tests
        // run in parallel): then the server exits at once, and another port is tried.
        var attempt = 1
        while true {
            let directory = try makeTemporaryDirectory(prefix: sentinel ? "presignd-sentinel" : "presignd-redis")
            let port = try freePort()
            let server = RedisServer(
                port: port, directory: directory, unixSocket: unixSocket ? directory + "/redis.sock" : nil,
                baseConfig: baseConfig, config: config, cliUser: cliUser, sentinel: sentinel)
            do {
                try server.launch()
                return server
            } catch let failure as Failure where failure.description.contains("Address already in use") && attempt < 5 {
                attempt += 1
            }
        }
    }

    private init(
        port: Int, directory: String, unixSocket: String?, baseConfig: String?, config: [String], cliUser: User?,
        sentinel: Bool
    ) {
        self.port = port
        self.directory = directory
        self.unixSocket = unixSocket
        self.baseConfig = baseConfig
        self.config = config
        self.cliUser = cliUser
        self.sentinel = sentinel
        self.process = LockedProcess()
    }

    deinit {
        process.terminate(signal: SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The process id of the running server, if any.
    package var pid: Int32? { process.pid }

    private func launch() throws {
        // A base file keeps its own persistence settings; only where the server lives is ours.
        var lines = baseConfig.map { [$0] } ?? ["save \"\"", "appendonly no"]
        lines += [
            "bind 127.0.0.1",
            "port \(port)",
            "dir \(directory)",
            "logfile \(directory)/redis.log",
            "daemonize no",
        ]
        if let unixSocket {
            lines += ["unixsocket \(unixSocket)", "unixsocketperm 700"]
        }
        lines += config
        let configPath = directory + "/redis.conf"
        try (lines.joined(separator: "\n") + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)

        guard let executable = ChildProcess.find("redis-server") else {
            throw Failure(
                description: "redis-server is not on PATH: install it (apt-get install -y redis-server) "
                    + "or run scripts/test, which installs it")
        }
        process.set(try ChildProcess.spawn(executable, [configPath] + (sentinel ? ["--sentinel"] : [])))
        try waitUntilReady()
    }

    /// Waits until this server answers, up to thirty seconds. The answer must come from this
    /// server's own process: another one on the port (which took it while this one was stopped)
    /// is a failure, not a ready server.
    private func waitUntilReady() throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            // PING answers PONG once the data is loaded (INFO answers while loading, too).
            if let pid = process.pid, (try? cli("PING")) == "PONG", let info = try? cli("INFO", "server") {
                let lines = info.split(whereSeparator: \.isNewline)
                if lines.contains(where: { $0 == "process_id:\(pid)" }) { return }
                // A user without INFO (the restricted user of redis.conf.example) can only PING.
                if info.hasPrefix("NOPERM"), process.isRunning { return }
            }
            if !process.isRunning {
                let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
                throw Failure(description: "redis-server exited at start:\n\(log.suffix(2000))")
            }
            usleep(20_000)
        }
        throw Failure(description: "redis-server on port \(port) did not answer PING within 30 s")
    }

    /// Runs `redis-cli` against this server and returns its trimmed standard output.
    @discardableResult
    package func cli(_ arguments: String...) throws -> String {
        try cli(arguments: arguments)
    }

    /// Runs `redis-cli` against this server and returns its trimmed standard output.
    @discardableResult
    package func cli(arguments: [String]) throws -> String {
        guard let executable = ChildProcess.find("redis-cli") else {
            throw Failure(description: "redis-cli is not on PATH: install it (apt-get install -y redis-tools)")
        }
        var options = ["-h", "127.0.0.1", "-p", String(port)]
        if let cliUser { options += ["--user", cliUser.name, "--pass", cliUser.password, "--no-auth-warning"] }
        let result = try ChildProcess.run(executable, options + arguments)
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server gracefully (SIGTERM) and waits for it to exit.
    package func stop() {
        process.terminate(signal: SIGTERM)
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it to exit.
    package func kill9() {
        process.terminate(signal: SIGKILL)
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing is answered.
    package func pause() {
        process.child?.signal(SIGSTOP)
    }

    /// Thaws a server frozen by `pause`.
    package func resume() {
        process.child?.signal(SIGCONT)
    }

    /// Starts the server again on the same port, directory and data files.
    package func restart() throws {
        process.terminate(signal: SIGTERM)
        try launch()
    }
}

/// The server's child process, replaced on restart. Every access goes through the lock, so
/// the wrapper is safe to share between test tasks.
private final class LockedProcess: @unchecked Sendable {
    private let lock = NSLock()
    private var process: ChildProcess?

    func set(_ process: ChildProcess) {
        lock.withLock { self.process = process }
    }

    var child: ChildProcess? { lock.withLock { process } }

    var pid: Int32? { child?.pid }

    var isRunning: Bool { child?.isRunning ?? false }

    func terminate(signal: Int32) {
        let child: ChildProcess? = lock.withLock {
            defer { process = nil }
            return process
        }
        guard let child else { return }
        child.signal(SIGCONT)
        child.signal(signal)
        child.wait()
    }
}
