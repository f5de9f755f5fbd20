import HTTPTypes
import Hummingbird
import Logging
import SSEProtocol
import ServerSupport

/// The demo board's controller: the page (`GET /`), the model for a page that must reload it (`GET /model`), and
/// the post form (`POST /add_post`).
///
/// A post is answered according to who sent it, so one form works three ways:
///
/// | client | recognised by | success | invalid |
/// | --- | --- | --- | --- |
/// | plain HTML form | neither header | 303 to `/` | 422, the page with the errors and what was typed |
/// | htmx (`hx-post`) | `HX-Request: true` | 200, a blank form (swapped over the old one) | 422, the error list * |
/// | engine.js (`data-post`) | `X-Engine-Request` | 200, an empty error list | 422, the error list |
///
/// \* with `HX-Retarget: #post-errors` and `HX-Reswap: outerHTML`, so htmx replaces the list, not the form.
///
/// htmx 2 swaps a 4xx answer only when told to: a page posting with htmx adds
/// `{"code":"422","swap":true}` to `htmx.config.responseHandling`.
struct BoardController: Sendable {
    enum Client: Equatable {
        case plainForm
        case htmx
        case engine

        init(_ request: Request) {
            if request.header("HX-Request") == "true" {
                self = .htmx
            } else if request.header("X-Engine-Request") != nil {
                self = .engine
            } else {
                self = .plainForm
            }
        }
    }

    /// Largest form body accepted: far above 40 + 280 characters even when every byte is percent-encoded.
    static let maximumFormBytes = 16 * 1024

    let store: BoardStore
    let publisher: BoardPublisher
    let views: BoardViews
    let settings: BoardViews.PageSettings
    /// Refuses posts from other sites (403) before anything else is looked at.
    let crossSite: CrossSitePolicy
    /// Posts per client address; a post over it gets 429 (``rateLimited(_:form:client:)``).
    let postRate: PostRateLimit
    /// With a signing key: each visitor's id and token cookies, and their private topic (``VisitorTokens``).
    let visitors: VisitorTokens?
    /// `POST /token` requests per client address (``refreshToken(_:context:)``).
    let tokenRate: PostRateLimit
    let logger: Logger

    /// Token refreshes one client address may ask for per minute (and at once).
    static let tokenRefreshesPerMinute = 60.0

    func page(_ request: Request, context: PublisherRequestContext) async throws -> Response {
        let snapshot = try await store.snapshot()
        guard let visitors else { return .html(views.page(snapshot, form: .blank, settings: settings)) }
        let visitor = visitors.visitor(of: request) ?? .random()
        return .html(
            views.page(snapshot, form: .blank, settings: settings.visiting(visitor)),
            headers: try visitors.cookies(for: visitor, secure: visitors.isSecure(request, context: context)))
    }

    /// `{"id":"<newest board event id or null>","patch":{…}}`: the model as a patch, and the id it is current as
    /// of, so engine.js can apply it and then only the events newer than that id.
    func model(_ request: Request) async throws -> Response {
        let snapshot = try await store.snapshot()
        let id = snapshot.lastEventID.map { JSONText.string("\($0)") } ?? "null"
        return .json("{\"id\":\(id),\"patch\":\(BoardPatches.model(snapshot, views: views).json())}")
    }

    func addPost(_ request: Request, context: PublisherRequestContext) async throws -> Response {
        let client = Client(request)
        try crossSite.check(request)
        try request.requireContentType("application/x-www-form-urlencoded")
        let body = try await request.bodyBytes(limit: Self.maximumFormBytes)
        let fields: FormFields
        do {
            fields = try FormFields(decoding: body)
        } catch {
            throw PublisherError.malformedForm(error)
        }
        let form = PostForm(fields: fields)
        let visitor = visitors?.visitor(of: request)
        guard form.isValid else {
            logger.debug("post refused", metadata: ["board.errors": "\(form.errors.map(\.message))"])
            return try await invalid(form, client: client, visitor: visitor)
        }
        // Only a post that would be stored spends the budget: a refused form costs no write.
        if let refusal = postRate.admit(request, context: context) {
            logger.debug("post rate-limited", metadata: ["board.refusal": "\(refusal.message)"])
            return try await rateLimited(refusal, form: form, client: client, visitor: visitor)
        }

        let snapshot = try await store.add(author: form.authorOrAnonymous, text: form.text)
        guard let post = snapshot.posts.first, post.version == snapshot.version else {
            throw PublisherError(
                .internalServerError, "post #\(snapshot.version) is missing from the list Redis returned")
        }
        let outcome: BoardPublisher.Outcome
        do {
            outcome = try await publisher.publish(
                version: snapshot.version, render: BoardPatches.render(snapshot, views: views),
                notice: BoardPatches.notice(for: post))
        } catch {
            logger.error(
                "post stored but not published",
                metadata: ["board.version": "\(snapshot.version)", "error": "\(error)"])
            throw PublisherError(
                .serviceUnavailable,
                "post #\(snapshot.version) was stored but its update was not published: "
                    + PublisherError.oneLine("\(error)"),
                headers: [.retryAfter: "1"])
        }
        logger.info(
            "post added",
            metadata: [
                "board.version": "\(snapshot.version)", "board.posts": "\(snapshot.postCount)",
                "board.publish": "\(outcome)",
            ])
        if let visitor { await tellPoster(visitor, post: post) }

        switch client {
        case .plainForm:
            return Response(
                status: .seeOther, headers: [.location: "/", .cacheControl: "no-store", .contentLength: "0"])
        case .htmx:
            return .html(views.form(.blank, htmx: true))
        case .engine:
            return .html(views.errors(.blank))
        }
    }

    /// 429 for a post over the rate, shown where each client shows errors: the page with the form as typed and the
    /// message in its error list, the error list alone for htmx (retargeted like a 422; a page posting with htmx
    /// adds `{"code":"429","swap":true}` to `responseHandling`), and one line of text for engine.js, which shows any
    /// answer but 2xx and 422 as a message in the list.
    private func rateLimited(
        _ refusal: PostRateLimit.Refusal, form: PostForm, client: Client, visitor: Visitor?
    ) async throws -> Response {
        var form = form
        form.errors = [PostForm.FieldError(field: "form", message: refusal.message)]
        var response: Response
        switch client {
        case .plainForm:
            let snapshot = try await store.snapshot()
            response = .html(
                views.page(snapshot, form: form, settings: settings.visiting(visitor)), status: .tooManyRequests)
        case .htmx:
            response = .html(
                views.errors(form), status: .tooManyRequests,
                headers: [HTTPField.Name("HX-Retarget")!: "#post-errors", HTTPField.Name("HX-Reswap")!: "outerHTML"])
        case .engine:
            response = .plain(refusal.message, status: .tooManyRequests)
        }
        response.headers.append(contentsOf: refusal.headers)
        return response
    }

    private func invalid(_ form: PostForm, client: Client, visitor: Visitor?) async throws -> Response {
        switch client {
        case .plainForm:
            let snapshot = try await store.snapshot()
            return .html(
                views.page(snapshot, form: form, settings: settings.visiting(visitor)), status: .unprocessableContent)
        case .htmx:
            return .html(
                views.errors(form), status: .unprocessableContent,
                headers: [HTTPField.Name("HX-Retarget")!: "#post-errors", HTTPField.Name("HX-Reswap")!: "outerHTML"])
        case .engine:
            return .html(views.errors(form), status: .unprocessableContent)
        }
    }
}
