public import Configuration

extension SettingsReader {
    /// Reads a program's flags straight from its settings: `arguments` (what swift-argument-parser left
    /// unrecognised, see the executables' `@Argument(parsing: .allUnrecognized)`) as `--flag VALUE` or
    /// `--flag=VALUE`, each flag one of `settings`. So each setting is declared once, as its ``Setting``, and the
    /// flag, the variable, the default, `--help` and the README's table all come from there.
    ///
    /// A list setting's flag may repeat (its values join with commas); any other flag given again replaces its
    /// earlier value (as swift-argument-parser does, so a script can append an override). A flag that is not a
    /// setting, a flag without a value and a value that does not parse throw a one-line error naming the flag.
    public init(arguments: [String], settings: [SettingDescriptor]) throws(SettingError) {
        self.init()
        for setting in settings where setting.isSecret { noteSecret(setting.environmentVariable) }
        var given: [(setting: SettingDescriptor, values: [String])] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw SettingError(
                    message: "unexpected argument \"\(argument)\": settings are --flag VALUE (see --help)")
            }
            var name = Substring(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = name[..<equals]
            }
            guard let setting = settings.first(where: { $0.flag == name }) else {
                throw SettingError(message: "unknown flag --\(name) (see --help)")
            }
            if value == nil {
                guard index < arguments.endIndex else { throw SettingError(message: "flag --\(name) needs a value") }
                value = arguments[index]
                index += 1
            }
            do {
                try setting.check(value!)
            } catch {
                // The setting's message names the variable (`SSE_PORT="x" is invalid: …`); this came from the flag.
                let prefix = "\(setting.environmentVariable)="
                guard error.message.hasPrefix(prefix) else { throw error }
                throw SettingError(message: "--\(name) " + error.message.dropFirst(prefix.count))
            }
            if let at = given.firstIndex(where: { $0.setting.flag == setting.flag }) {
                if setting.repeatable { given[at].values.append(value!) } else { given[at].values = [value!] }
            } else {
                given.append((setting, [value!]))
            }
        }
        for (setting, values) in given { record(setting, values.joined(separator: ",")) }
    }

    /// The settings as `--help` lists them: one line per flag with its help (variable and default included).
    public static func help(for settings: [SettingDescriptor]) -> String {
        let width = min(28, (settings.map(\.flag.count).max() ?? 0) + 10)
        return settings.map { setting in
            let flag = "--\(setting.flag) <value>"
            return "  " + flag + String(repeating: " ", count: max(1, width - flag.count)) + setting.help
        }.joined(separator: "\n")
    }
}
