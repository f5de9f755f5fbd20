/// The board's post form as submitted: trimmed, checked, and either a valid post or the errors to show next to
/// the fields (with what the poster typed, so the form can be shown again filled in).
struct PostForm: Sendable, Equatable {
    /// Longest author name, in characters (grapheme clusters, what a person counts).
    static let maximumAuthorLength = 40
    /// Longest text, in characters, after trimming.
    static let maximumTextLength = 280
    /// Longest author name in UTF-8 bytes: four per character on average. A character (grapheme cluster) has no
    /// size limit of its own, so `Z` with 2,600 combining marks is one character of 5.2 KB; bytes bound that.
    static let maximumAuthorBytes = 4 * maximumAuthorLength
    /// Longest text in UTF-8 bytes (280 emoji of four bytes fit exactly).
    static let maximumTextBytes = 4 * maximumTextLength
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
    /// have no business on a page and could confuse terminals reading logs. Each is bounded in characters and in
    /// UTF-8 bytes, and the author may not hold bidi controls or other format characters (``isFormat(_:)``).
    init(fields: FormFields) {
        author = Self.normalised(fields["author"] ?? "")
        text = Self.normalised(fields["text"] ?? "")
        errors = []
        if author.count > Self.maximumAuthorLength {
            errors.append(
                FieldError(
                    field: "author",
                    message: "name is too long: \(author.count) characters, at most \(Self.maximumAuthorLength)"))
        } else if author.utf8.count > Self.maximumAuthorBytes {
            errors.append(
                FieldError(
                    field: "author",
                    message: "name is too long: \(author.utf8.count) bytes in UTF-8, at most \(Self.maximumAuthorBytes)"
                ))
        } else if author.unicodeScalars.contains(where: Self.isControl) {
            errors.append(FieldError(field: "author", message: "name must be one line without control characters"))
        } else if let format = author.unicodeScalars.first(where: Self.isFormat) {
            errors.append(
                FieldError(
                    field: "author",
                    message:
                        "name must not contain bidi controls or other format characters: found \(Self.code(format))"
                ))
        }
        if text.isEmpty {
            errors.append(
                FieldError(field: "text", message: "text is required: write 1–\(Self.maximumTextLength) characters"))
        } else if text.count > Self.maximumTextLength {
            errors.append(
                FieldError(
                    field: "text",
                    message: "text is too long: \(text.count) characters, at most \(Self.maximumTextLength)"))
        } else if text.utf8.count > Self.maximumTextBytes {
            errors.append(
                FieldError(
                    field: "text",
                    message: "text is too long: \(text.utf8.count) bytes in UTF-8, at most \(Self.maximumTextBytes)"))
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

    /// Invisible format characters (Unicode category Cf) a name must not hold: the bidi controls (U+202A–U+202E,
    /// U+2066–U+2069, U+200E, U+200F, U+061C), which turn the rest of the line around (the post's time, the
    /// notice), and the others (U+00AD, U+2060, U+FEFF, tag characters…), which hide what a name really is. Zero
    /// width joiner and non-joiner (U+200D, U+200C) stay allowed: emoji sequences and Persian or Indic names need
    /// them. The text keeps all of them: a paragraph of its own bounds any reordering, and right-to-left writers
    /// use the marks.
    static func isFormat(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .format && scalar != "\u{200D}" && scalar != "\u{200C}"
    }

    /// `U+202E`: a code point as people write it.
    static func code(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// C0 and C1 controls and DEL; line and paragraph separators too (they break lines in JavaScript strings).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}
