import ArgumentParser
import Foundation
import SSEProtocol

/// `ssectl patch`: publish a seed-protocol patch reliably; every client gets it in its own dialect.
struct PatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patch",
        abstract: "Publish a patch (html by element id, js variables, code to run) reliably and print its id.",
        discussion: """
            Example: ssectl patch board --html posts='<li>hi</li>' --js postCount=3 --exec 'notify("hi")'
            Entries are published in the order given.
            """)

    @OptionGroup var redis: RedisOptions
    @Argument(help: "Topic name.") var topic: String
    @Option(name: .customLong("html"), help: "ID=HTML: new inner HTML of the element with this id (repeatable).")
    var html: [String] = []
    @Option(name: .customLong("js"), help: "NAME=JSON: set window[NAME] to this JSON value (repeatable).")
    var js: [String] = []
    @Option(name: .customLong("exec"), help: "JavaScript to run after the html and js entries.")
    var exec: String?

    func validate() throws {
        _ = try makePatch()
    }

    func run() async throws {
        let patch = try makePatch()
        try await redis.publish(try Topic(validating: topic), event: nil, data: patch.json())
    }

    func makePatch() throws(ValidationError) -> Patch {
        var patch = Patch(exec: exec)
        for entry in html {
            let (id, value) = try Self.split(entry, option: "--html", expected: "ID=HTML")
            guard !id.contains(where: \.isWhitespace) else {
                throw ValidationError("--html \(entry.prefix(40)): element id \"\(id)\" must not contain spaces")
            }
            patch.html.append(.init(id: id, html: value))
        }
        for entry in js {
            let (name, value) = try Self.split(entry, option: "--js", expected: "NAME=JSON")
            guard name != "exec" else {
                throw ValidationError("--js exec=…: \"exec\" is reserved for code; use --exec CODE")
            }
            guard Self.isJSONValue(value) else {
                throw ValidationError(
                    "--js \(name)=\(value.prefix(40)): the value is not JSON (quote strings: --js \(name)='\"text\"')")
            }
            patch.variables.append(.init(name: name, json: value))
        }
        guard !patch.isEmpty else { throw ValidationError("nothing to publish: give --html, --js or --exec") }
        return patch
    }

    private static func split(_ entry: String, option: String, expected: String) throws(ValidationError)
        -> (String, String)
    {
        guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
            throw ValidationError("\(option) \(entry.prefix(40)): expected \(expected)")
        }
        return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
    }

    private static func isJSONValue(_ text: String) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil
    }
}
