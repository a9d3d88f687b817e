import Foundation

/// Why a child process could not be started.
package struct SpawnError: Error, CustomStringConvertible {
    package let description: String
}

/// A child process started with `posix_spawn` and reaped with `waitpid`.
///
/// Foundation's `Process.waitUntilExit` spins a run loop and was seen to hang inside Swift
/// Testing's concurrent tests on Linux; the plain POSIX calls do not.
package struct ChildProcess: Sendable {
    package let pid: pid_t

    /// Starts `executable` with `arguments`. Standard input is /dev/null; standard output goes to
    /// `stdoutFD` when given, else to /dev/null; standard error goes to /dev/null unless
    /// `inheritStderr` is set.
    package static func spawn(
        _ executable: String, _ arguments: [String], stdoutFD: Int32? = nil, inheritStderr: Bool = false
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let stdoutFD {
            posix_spawn_file_actions_adddup2(&actions, stdoutFD, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        if !inheritStderr {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        // Threads of the test runner (libdispatch workers) block most signals, and a spawned
        // child inherits the mask: reset it, or the child would never see SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard status == 0 else {
            throw SpawnError(description: "could not start \(executable): errno \(status)")
        }
        return ChildProcess(pid: pid)
    }

    /// Runs a command to completion and returns its standard output.
    package static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SpawnError(description: "pipe() failed: errno \(errno)") }
        // Close-on-exec: a child spawned meanwhile by another thread must not inherit the write end,
        // or this read would not see EOF until that child exits (a redis-server: never). The child
        // here gets it as its standard output through dup2, which clears the flag. (Glibc's pipe2 is
        // not visible to Swift; the window between the two calls is a few instructions.)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let child: ChildProcess
        do {
            child = try spawn(executable, arguments, stdoutFD: fds[1])
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[1])
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if count > 0 {
                output += chunk[0..<count]
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        close(fds[0])
        return (child.wait(), String(decoding: output, as: UTF8.self))
    }

    /// Whether the process has not exited yet (it is not reaped by this call).
    package var isRunning: Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._sigchld.si_pid == 0
    }

    /// Sends a signal.
    package func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits for the process to exit and returns its exit status (128 + signal when killed).
    @discardableResult
    package func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}

extension ChildProcess {
    /// The first executable called `name` on PATH, then in the usual system folders (Debian puts
    /// redis-server in /usr/bin, which a minimal PATH may lack).
    package static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin"]
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

