import Dispatch
import Foundation
import LocalRedis

#if canImport(Glibc)
    import Glibc
#endif

extension RedisBenchCommand {
    /// On SIGINT or SIGTERM, kills what this run started — the redis-server (when we started it), redis-benchmark and
    /// redis-cli — and exits with 128 + the signal number.
    ///
    /// Needed because a SIGTERM sent to redis-bench alone (not to its process group) would otherwise leave them
    /// running.
    /// Returns the sources; they must stay alive for the handlers to fire.
    static func stopChildrenOnInterrupt(server: LocalRedisServer?) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                ChildProcess.killAll()
                server?.kill()
                FileHandle.standardError.write(Data("redis-bench: interrupted, stopped its child processes\n".utf8))
                Glibc.exit(128 + signalNumber)
            }
            source.resume()
            return source
        }
    }
}
