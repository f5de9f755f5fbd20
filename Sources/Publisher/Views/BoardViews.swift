import Foundation
import Mustache
import SSEProtocol

/// Renders the board: the page, the post list, the post form and its error list, from Mustache templates in
/// `Resources/templates`.
///
/// Every value a user supplied reaches the templates only through `{{name}}`, which escapes `& < > " '`; the
/// templates use no triple mustaches. That is what keeps `<script>` typed into a post inert, in the page and in
/// the patches alike (both are rendered here).
struct BoardViews: Sendable {
    /// What the page needs beyond the model.
    struct PageSettings: Sendable {
        var topic: String
        var sseURL: String
        var heartbeatSeconds: Double
        var engineVersion: String
        /// The visitor's private topic, which the page follows besides ``topic`` (with visitor tokens only).
        var visitorTopic: String? = nil
        /// Where engine.js gets a fresh token cookie (`data-token-url`); set with ``visitorTopic``.
        var tokenURL: String? = nil

        /// These settings for `visitor`'s page: their topic too, and the token URL.
        func visiting(_ visitor: Visitor?) -> PageSettings {
            guard let visitor else { return self }
            var settings = self
            settings.visitorTopic = visitor.topic.name
            settings.tokenURL = VisitorTokens.refreshPath
            return settings
        }
    }

    let library: MustacheLibrary

    /// Loads the templates; a missing or malformed template stops the service at start, not at the first request.
    static func load(directory: String) async throws -> BoardViews {
        let library = try await MustacheLibrary(directory: directory)
        for name in ["board", "posts", "post_form", "form_errors"] where library.getTemplate(named: name) == nil {
            throw PublisherResourcesError("template \(name).mustache is missing from \(directory)")
        }
        return BoardViews(library: library)
    }

    /// The whole page: the model at `snapshot`, the form (blank, or as posted with its errors).
    func page(_ snapshot: BoardSnapshot, form: PostForm, settings: PageSettings) -> String {
        var context: [String: Any] = [
            "postCount": snapshot.postCount,
            "posts": snapshot.posts.map(Self.postContext),
            "form": Self.formContext(form, htmx: false),
            // engine.js reads data-topic as a list separated by spaces or commas.
            "topic": ([settings.topic] + (settings.visitorTopic.map { [$0] } ?? [])).joined(separator: " "),
            "sseURL": settings.sseURL,
            "heartbeatSeconds": Self.number(settings.heartbeatSeconds),
            "lastEventID": snapshot.lastEventID.map { "\($0)" } ?? "",
            "engineVersion": settings.engineVersion,
        ]
        if let tokenURL = settings.tokenURL { context["visitor"] = ["tokenURL": tokenURL] }
        return render("board", context)
    }

    /// The `<li>` items of the post list (the content of `#posts`).
    func posts(_ posts: [Post]) -> String {
        render("posts", ["posts": posts.map(Self.postContext)])
    }

    /// The `<form>` element, blank or with errors: for htmx it posts with `hx-post` and replaces itself.
    func form(_ form: PostForm, htmx: Bool) -> String {
        render("post_form", Self.formContext(form, htmx: htmx))
    }

    /// The `<ul data-errors>` error list of a form (empty when it has none).
    func errors(_ form: PostForm) -> String {
        render("form_errors", Self.formContext(form, htmx: false))
    }

    private func render(_ template: String, _ context: [String: Any]) -> String {
        var html = library.render(context, withTemplate: template) ?? ""
        while html.hasSuffix("\n") { html.removeLast() }
        return html
    }

    private static func postContext(_ post: Post) -> [String: Any] {
        let time = PostTime(milliseconds: post.createdAt)
        return [
            "version": post.version, "author": post.author, "text": post.text, "time": time.text,
            "iso8601": time.iso8601,
        ]
    }

    private static func formContext(_ form: PostForm, htmx: Bool) -> [String: Any] {
        [
            "author": form.author, "text": form.text, "htmx": htmx,
            "errors": form.errors.map { ["field": $0.field, "message": $0.message] },
        ]
    }

    /// `15` rather than `15.0`, `0.5` as is.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
