import SSEProtocol

/// The patches a change of the board sends to pages, in the seed protocol (see `Patch`).
///
/// A post sends, in this order: the rendered post list into `#posts`, the variable `postCount` (pages bind it to
/// the counter), and a short notification. They are three events rather than one so that each dialect client sees
/// them as the seed protocol describes them: content first, then state, then behaviour.
enum BoardPatches {
    /// The element whose content is the post list.
    static let postsElement = "posts"
    /// The JS variable holding the number of posts ever made.
    static let countVariable = "postCount"

    /// The render of the model: the list and the count (published only if newer, see ``BoardPublisher``).
    static func render(_ snapshot: BoardSnapshot, views: BoardViews) -> [Patch] {
        [
            Patch(html: [.init(id: postsElement, html: views.posts(snapshot.posts))]),
            Patch(variables: [.init(name: countVariable, json: String(snapshot.postCount))]),
        ]
    }

    /// The whole model as one patch, for `GET /model` (a page reloading after `resync`).
    static func model(_ snapshot: BoardSnapshot, views: BoardViews) -> Patch {
        Patch(
            html: [.init(id: postsElement, html: views.posts(snapshot.posts))],
            variables: [.init(name: countVariable, json: String(snapshot.postCount))])
    }

    /// `window.engine && engine.notify("New post by ada")`: harmless on a page without engine.js.
    static func notice(for post: Post) -> Patch {
        Patch(exec: "window.engine && engine.notify(\(scriptString("New post by \(post.author)")))")
    }

    /// The element of a visitor's page that shows what only they are told (present with visitor tokens only).
    static let noticeElement = "notice"

    /// Told to the poster alone, on their private topic: their post is on the board. Has no user-supplied text.
    static func posterNotice(for post: Post) -> Patch {
        Patch(html: [.init(id: noticeElement, html: "Your post #\(post.version) was published")])
    }

    /// `text` as a JavaScript string literal that is also safe inside HTML: a JSON string literal with `<`, `>`
    /// and `&` written as `\u003c`, `\u003e`, `\u0026`. Dialects may deliver code inside a `<script>` element,
    /// where a name such as `</script><img onerror=…>` would otherwise end the script and inject markup.
    static func scriptString(_ text: String) -> String {
        var out = ""
        for character in JSONText.string(text) {
            switch character {
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            default: out.append(character)
            }
        }
        return out
    }
}
