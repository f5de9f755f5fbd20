import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The terminal side of `ssectl top`: each refresh redrawn in place on the alternate screen with the cursor hidden,
/// and the terminal given back as it was on Ctrl-C, SIGTERM or `q`.
///
/// Redraws move home and overwrite each line, clearing what is left of it and below (`ESC[K`, `ESC[J`), rather than
/// clearing the screen first, so the table does not flicker. `q` is read with the terminal's line mode and echo off
/// (only when standard input is a terminal too); both are restored on the way out.
final class TopScreen: @unchecked Sendable {
    /// Whether `descriptor` is a terminal (standard output decides between this screen and plain lines).
    static func isTerminal(_ descriptor: Int32) -> Bool { isatty(descriptor) == 1 }

    private var savedInput: termios?
    /// Kept alive while the screen runs (a dispatch source stops when released).
    private var sources: [any DispatchSourceProtocol] = []

    /// Switches to the alternate screen, hides the cursor and starts listening for Ctrl-C, SIGTERM and `q`.
    func start() {
        Self.write("\u{1B}[?1049h\u{1B}[?25l")
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in quit() }
            source.resume()
            sources.append(source)
        }
        guard Self.isTerminal(STDIN_FILENO) else { return }
        var settings = termios()
        guard tcgetattr(STDIN_FILENO, &settings) == 0 else { return }
        savedInput = settings
        settings.c_lflag &= ~tcflag_t(ICANON | ECHO)
        _ = tcsetattr(STDIN_FILENO, TCSANOW, &settings)
        let keys = DispatchSource.makeReadSource(fileDescriptor: STDIN_FILENO, queue: .global())
        keys.setEventHandler { [self] in
            var byte: UInt8 = 0
            let count = read(STDIN_FILENO, &byte, 1)
            if count <= 0 {
                keys.cancel()
            } else if byte == UInt8(ascii: "q") || byte == UInt8(ascii: "Q") {
                quit()
            }
        }
        keys.resume()
        sources.append(keys)
    }

    /// One line of the screen and the state whose colour it is drawn in (nil: the terminal's own).
    struct Line {
        var text: String
        var state: String?

        init(_ text: String, state: String? = nil) {
            self.text = text
            self.state = state
        }
    }

    /// Replaces what the screen shows with `lines`, each cut to the terminal's width (a wrapped line would push the
    /// next redraw out of place).
    func draw(_ lines: [Line]) {
        let width = Self.width()
        let shown = lines.map { line in
            let text = width.map { String(line.text.prefix($0)) } ?? line.text
            return line.state.map { Self.colored(text, state: $0) } ?? text
        }
        Self.write("\u{1B}[H" + shown.map { $0 + "\u{1B}[K\n" }.joined() + "\u{1B}[J")
    }

    /// The terminal's columns, nil when it does not say.
    private static func width() -> Int? {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// Gives the terminal back (main screen, cursor, line mode and echo) and exits with status 0.
    func quit() -> Never {
        if var settings = savedInput { _ = tcsetattr(STDIN_FILENO, TCSANOW, &settings) }
        Self.write("\u{1B}[?25h\u{1B}[?1049l")
        exit(0)
    }

    /// The colour a row of `state` is drawn in: none when ready, yellow while draining, red when not ready or down.
    static func colored(_ line: String, state: String) -> String {
        switch state {
        case "ready": return line
        case "draining": return "\u{1B}[33m" + line + "\u{1B}[0m"
        default: return "\u{1B}[31m" + line + "\u{1B}[0m"
        }
    }

    /// Writes straight to standard output (no buffer to flush before an exit).
    static func write(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { systemWrite(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

#if canImport(Glibc)
    private let systemWrite = Glibc.write
#elseif canImport(Darwin)
    private let systemWrite = Darwin.write
#endif
