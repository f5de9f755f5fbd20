import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension ChildProcess {
    /// posix_spawn with a clean inheritance: only standard input (`/dev/null`), output and error, an empty signal
    /// mask and default dispositions. Output goes to `outputPath` (appended) and error to `errorPath` or with the
    /// output; or output to `pipeWriteEnd` with error discarded.
    static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String], outputPath: String,
        errorPath: String?, pipeWriteEnd: Int32?
    ) throws -> pid_t {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        if let pipeWriteEnd {
            posix_spawn_file_actions_adddup2(&fileActions, pipeWriteEnd, 1)
            posix_spawn_file_actions_addopen(&fileActions, 2, "/dev/null", O_WRONLY, 0)
        } else {
            posix_spawn_file_actions_addopen(&fileActions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            if let errorPath {
                posix_spawn_file_actions_addopen(&fileActions, 2, errorPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            } else {
                posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
            }
        }
        // Nothing else is inherited. SwiftNIO's sockets are not close-on-exec, so a child would otherwise hold a copy
        // of every connection the caller had open at that moment: when the caller closed one, the peer would never
        // see the close (the child keeps the socket open), which made tests wait in vain for a closed stream.
        if let closeFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            // glibc 2.34+; Swift's Glibc module does not declare it.
            typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            _ = unsafeBitCast(closeFrom, to: AddCloseFrom.self)(&fileActions, 3)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var merged = ProcessInfo.processInfo.environment
        for (name, value) in environment { merged[name] = value }
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        // The child must not inherit the caller's blocked signals (event-loop and test threads block SIGTERM and
        // SIGINT), or it could never be stopped gracefully; reset dispositions to their defaults as well.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &fileActions, &attributes, argv, envp)
        guard status == 0 else {
            throw LocalRedisError.system("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        return child
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it; the socket is closed again).
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw LocalRedisError.system("socket() failed: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else {
        throw LocalRedisError.system("cannot bind a loopback port: \(String(cString: strerror(errno)))")
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

func makeTemporaryDirectory() throws -> String {
    var template = Array((NSTemporaryDirectory() + "/local-redis-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else {
        throw LocalRedisError.system("mkdtemp failed: \(String(cString: strerror(errno)))")
    }
    return String(cString: made)
}
