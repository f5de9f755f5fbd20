"""A private stream's cookie and CORS rules in a real browser (issue 14): headless Chromium on pages of two origins.

Run by Tests/ClusterTests/PrivateStreamsInBrowserTests.swift with a gateway (behind nginx at --gateway) that has a
token key, `board` public and `--allowed-origins http://127.0.0.1:<listed port>,*`. This script serves one blank
page on two loopback origins of its own, in threads of this process:

  listed   http://127.0.0.1:<--listed-port>, named in the gateway's allowed origins; its /login sets the visitor's
           HttpOnly sse_token cookie (SameSite=Strict, for host 127.0.0.1).
  unlisted http://127.0.0.1:<a free port>, allowed only by `*`.

Cookies ignore ports, so the cookie set by the listed origin's /login is the browser's cookie for the gateway's host
too, and both pages' requests to the gateway carry it. Both pages are cross-origin to the gateway (another port) but
same-site (the same host): a browser sends a SameSite=Lax or Strict cookie only on same-site requests, and on plain
http a cross-site page could never send one (SameSite=None needs Secure, so https). Same-site pages are therefore
the only case where the gateway's own rule is what decides, and the case this checks:

  1. the listed page's `new EventSource(…/sse?topic=user.42, {withCredentials: true})` is authorized by the cookie
     and receives an event published on user.42; the page's script cannot read the cookie (HttpOnly);
  2. the unlisted page's same EventSource fails (the gateway answers 401 without reading the cookie); a credentialed
     fetch of the same URL reads the 401 and its exact body (the answer carries the CORS headers);
  3. the unlisted page reads the public topic `board` with a credentialed EventSource;
  4. the unlisted page reads user.42 with fetch and `Authorization: Bearer` (the preflight allows the header).

Every stream is opened after a marker event (`lastEventId=` in the URL), so an event published right after the
stream opened arrives even if the node had not finished subscribing. Prints `ok: …` per step, then PASSED.
"""

from browser_support import StepFailed, argument_parser, chromium, main_wrapper, step, wait_for
from compat_cluster import run_ssectl
from page_server import cookie_setter, html, serve

PAGE = b"<!doctype html><meta charset=utf-8><title>private stream page</title><p>page</p>\n"


# Opens an EventSource in the page and records what it sees in window.seen[name].
OPEN_SOURCE = """
const [name, url] = arguments;
window.seen = window.seen || {};
const seen = window.seen[name] = {opened: 0, errors: 0, states: [], messages: []};
const source = new EventSource(url, {withCredentials: true});
source.onopen = () => { seen.opened += 1; };
source.onmessage = (event) => { seen.messages.push([event.lastEventId, event.data]); };
source.onerror = () => { seen.errors += 1; seen.states.push(source.readyState); };
window.sources = window.sources || {};
window.sources[name] = source;
"""

# A fetch of the stream URL with the given headers and credentials mode, read as it comes into window.fetched[name].
START_FETCH = """
const [name, url, headers, credentials] = arguments;
window.fetched = window.fetched || {};
const state = window.fetched[name] = {status: null, text: '', error: null};
const controller = new AbortController();
state.abort = () => controller.abort();
fetch(url, {headers, credentials, signal: controller.signal}).then(async (response) => {
  state.status = response.status;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const {value, done} = await reader.read();
    if (done) { state.done = true; return; }
    state.text += decoder.decode(value, {stream: true});
  }
}).catch((error) => { if (!controller.signal.aborted) state.error = String(error); });
"""


def seen(driver, name):
    return driver.execute_script("return window.seen[arguments[0]]", name)


def fetched(driver, name):
    return driver.execute_script(
        "const s = window.fetched[arguments[0]]; return {status: s.status, text: s.text, error: s.error};", name)


def check(condition, message):
    if not condition:
        raise StepFailed(message)


def run(arguments):
    with open(arguments.token_file, encoding="utf-8") as file:
        token = file.read().strip()
    gateway = arguments.gateway.rstrip("/")
    page = html(PAGE)
    listed = serve(arguments.listed_port,
                   {("GET", "/page.html"): page, ("GET", "/login"): cookie_setter(lambda: token)})
    unlisted = serve(0, {("GET", "/page.html"): page})
    listed_origin = f"http://127.0.0.1:{listed.server_address[1]}"
    unlisted_origin = f"http://127.0.0.1:{unlisted.server_address[1]}"
    driver = chromium()
    driver.set_script_timeout(10)
    try:
        # 1. The listed origin: sign in (the cookie), open the private stream with credentials, receive an event.
        driver.get(f"{listed_origin}/login")
        check([c["name"] for c in driver.get_cookies()] == ["sse_token"], f"cookies: {driver.get_cookies()}")
        driver.get(f"{listed_origin}/page.html")
        check(driver.execute_script("return document.cookie") == "", "the HttpOnly cookie is hidden from scripts")
        marker = run_ssectl(arguments, "publish", "user.42", "marker before the listed page")
        driver.execute_script(OPEN_SOURCE, "listed", f"{gateway}/sse?topic=user.42&lastEventId={marker}")
        wait_for("the listed page's private stream to open", 10, lambda: seen(driver, "listed")["opened"] == 1)
        private_id = run_ssectl(arguments, "publish", "user.42", "for 42 only")
        wait_for("the private event on the listed page", 10, lambda: seen(driver, "listed")["messages"])
        got = seen(driver, "listed")
        check(got["messages"] == [[private_id, "for 42 only"]] and got["errors"] == 0, f"listed page saw {got}")
        driver.execute_script("window.sources.listed.close()")
        step(f"{listed_origin} (listed) read user.42 with its HttpOnly cookie: {got['messages']}")

        # 2. The unlisted origin, same cookie: the EventSource fails for good (401, no reconnect).
        driver.get(f"{unlisted_origin}/page.html")
        driver.execute_script(OPEN_SOURCE, "refused", f"{gateway}/sse?topic=user.42")
        wait_for("the unlisted page's private stream to fail", 10, lambda: seen(driver, "refused")["errors"] >= 1)
        got = seen(driver, "refused")
        check(got == {"opened": 0, "errors": 1, "states": [2], "messages": []}, f"unlisted EventSource saw {got}")
        driver.execute_script(START_FETCH, "refused", f"{gateway}/sse?topic=user.42", {}, "include")
        wait_for("the unlisted page's credentialed fetch", 10, lambda: fetched(driver, "refused")["status"])
        wait_for("the 401's body", 10, lambda: driver.execute_script("return window.fetched.refused.done === true"))
        got = fetched(driver, "refused")
        expected = (f'the sse_token cookie is not read for origin "{unlisted_origin}", which is not listed by name in'
                    " SSE_ALLOWED_ORIGINS: send an Authorization: Bearer header\n")
        check(got == {"status": 401, "text": expected, "error": None}, f"unlisted fetch got {got}")
        step(f"{unlisted_origin} (only *) cannot use the cookie: EventSource closed, fetch 401 {got['text']!r}")

        # 3. The unlisted origin reads a public topic.
        marker = run_ssectl(arguments, "publish", "board", "marker before the public stream")
        driver.execute_script(OPEN_SOURCE, "public", f"{gateway}/sse?topic=board&lastEventId={marker}")
        wait_for("the unlisted page's public stream to open", 10, lambda: seen(driver, "public")["opened"] == 1)
        public_id = run_ssectl(arguments, "publish", "board", "public news")
        wait_for("the public event", 10, lambda: seen(driver, "public")["messages"])
        got = seen(driver, "public")
        check(got["messages"] == [[public_id, "public news"]] and got["errors"] == 0, f"public stream saw {got}")
        driver.execute_script("window.sources.public.close()")
        step(f"{unlisted_origin} reads the public topic board: {got['messages']}")

        # 4. The unlisted origin with the token in a header (a preflighted fetch) reads the private topic.
        marker = run_ssectl(arguments, "publish", "user.42", "marker before the bearer fetch")
        driver.execute_script(START_FETCH, "bearer", f"{gateway}/sse?topic=user.42&lastEventId={marker}",
                              {"Authorization": f"Bearer {token}"}, "omit")
        wait_for("the bearer fetch's answer", 10, lambda: fetched(driver, "bearer")["status"])
        bearer_id = run_ssectl(arguments, "publish", "user.42", "by header")
        frame = f"id: {bearer_id}\ndata: by header\n\n"
        wait_for("the event in the bearer fetch's body", 10, lambda: frame in fetched(driver, "bearer")["text"])
        got = fetched(driver, "bearer")
        events = [block for block in got["text"].split("\n\n") if block and not block.startswith((":", "retry:"))]
        check(got["status"] == 200 and got["error"] is None, f"bearer fetch got {got}")
        check(events == [frame.strip("\n")], f"bearer fetch's events: {events}")
        driver.execute_script("window.fetched.bearer.abort()")
        step(f"{unlisted_origin} reads user.42 with Authorization: Bearer: {events}")
    finally:
        driver.quit()
        listed.shutdown()
        unlisted.shutdown()


def main():
    parser = argument_parser(__doc__)
    parser.add_argument("--gateway", required=True, help="the gateway's base URL (nginx), e.g. http://127.0.0.1:8000")
    parser.add_argument("--listed-port", type=int, required=True, help="the port of the origin listed by name")
    parser.add_argument("--token-file", required=True, help="a file holding a token granting user.42")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--ssectl", required=True, help="the built ssectl, to publish")
    return main_wrapper(run, parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
