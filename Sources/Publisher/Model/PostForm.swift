/// The board's post form as submitted: trimmed, checked, and either a valid post or the errors to show next to
/// the fields (with what the poster typed, so the form can be shown again filled in).
struct PostForm: Sendable, Equatable {
    /// Longest author name, in characters (grapheme clusters, what a person counts).
    static let maximumAuthorLength = 40
    /// Longest text, in characters, after trimming.
    static let maximumTextLength = 280
    /// Shown, and stored, for a post without a name.
    static let anonymous = "anonymous"

    /// One problem with one field.
    struct FieldError: Sendable, Equatable {
        /// The form field's name: `author` or `text`.
        var field: String
        /// One line saying what was wrong and what is expected.
        var message: String
    }

    /// The author as typed, trimmed (may be empty: the post is then by ``anonymous``).
    var author: String
    /// The text as typed, trimmed, line breaks normalised to LF.
    var text: String
    var errors: [FieldError]

    /// An empty form, as the page first shows it.
    static let blank = PostForm(author: "", text: "", errors: [])

    init(author: String, text: String, errors: [FieldError]) {
        self.author = author
        self.text = text
        self.errors = errors
    }

    /// Reads and checks the `author` and `text` fields.
    ///
    /// Both are trimmed of whitespace and line breaks at either end; CRLF and lone CR become LF (browsers send
    /// textarea line breaks as CRLF). The author must be one line; neither may hold other control characters, which
    /// have no business on a page and could confuse terminals reading logs.
    init(fields: FormFields) {
        author = Self.normalised(fields["author"] ?? "")
        text = Self.normalised(fields["text"] ?? "")
        errors = []
        if author.count > Self.maximumAuthorLength {
            errors.append(
                FieldError(
                    field: "author",
                    message: "name is too long: \(author.count) characters, at most \(Self.maximumAuthorLength)"))
        } else if author.unicodeScalars.contains(where: Self.isControl) {
            errors.append(FieldError(field: "author", message: "name must be one line without control characters"))
        }
        if text.isEmpty {
            errors.append(
                FieldError(field: "text", message: "text is required: write 1–\(Self.maximumTextLength) characters"))
        } else if text.count > Self.maximumTextLength {
            errors.append(
                FieldError(
                    field: "text",
                    message: "text is too long: \(text.count) characters, at most \(Self.maximumTextLength)"))
        } else if text.unicodeScalars.contains(where: { $0 != "\n" && $0 != "\t" && Self.isControl($0) }) {
            errors.append(FieldError(field: "text", message: "text must not contain control characters"))
        }
    }

    var isValid: Bool { errors.isEmpty }

    /// The name stored with the post.
    var authorOrAnonymous: String { author.isEmpty ? Self.anonymous : author }

    static func normalised(_ value: String) -> String {
        let unified = value.replacing("\r\n", with: "\n").replacing("\r", with: "\n")
        return String(unified.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    /// C0 and C1 controls and DEL; line and paragraph separators too (they break lines in JavaScript strings).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}
