"""engine.js through a private stream's expiry in a real browser (issue 14): a fresh cookie, a resume, no gap.

Run by Tests/ClusterTests/PrivateStreamsInBrowserTests.swift with gateways behind nginx (--gateway) that have the
HS256 key in --key-file and list this script's page origin (http://127.0.0.1:<--page-port>) by name. This script
serves, from a thread of its own (page_server.py):

  GET  /login        the visitor's first sse_token cookie, a token granting user.42 that expires in 5 s
  GET  /engine.html  a page with the repository's engine.js on topic user.42, data-sse-url the gateway and
                     data-token-url="/token", resuming after a marker event published before the page
  GET  /engine.js    Sources/Publisher/Resources/engine.js
  POST /token        a fresh cookie (a token for 60 s), counted

While patches ({"html":{"count":"<n>"}}) are published on user.42 every 0.1 s, the gateway ends the stream at the
first token's expiry with `event: token-expired`; engine.js POSTs /token and reconnects with its last id. The checks:
/token was asked once, mid-stream; the page applied every published patch once, in order (engine.connection.applied
holds the ids it applied, and the page records every change of its count); the page is live and shows the last
count. Prints `ok: …` per step, then PASSED.
"""

import base64
import hashlib
import hmac
import json
import os
import threading
import time

from browser_support import StepFailed, argument_parser, chromium, main_wrapper, step, wait_for
from compat_cluster import run_ssectl
from page_server import cookie_setter, html, serve

ENGINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources", "Publisher", "Resources",
                      "engine.js")
# The page: engine.js on user.42 through the gateway (@GATEWAY@), resuming after the marker event (@MARKER@).
PAGE = """<!doctype html><meta charset=utf-8><title>expiry</title>
<p>state <span id=state data-sse-state></span>, count <span id=count>none</span></p>
<script>
  // Every patch of #count, in order: one childList record per innerHTML set, however the callbacks are batched.
  window.counts = [];
  new MutationObserver((records) => records.forEach((record) => {
    if (record.addedNodes.length) window.counts.push(record.addedNodes[0].textContent);
  })).observe(document.getElementById("count"), {childList: true});
</script>
<script src="/engine.js" defer data-topic="user.42" data-sse-url="@GATEWAY@" data-last-event-id="@MARKER@"
        data-share="off" data-token-url="/token"></script>
"""
# At most this many patches (engine.connection.applied keeps the last 200 ids).
MAXIMUM_EVENTS = 120


def base64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(secret, key_id, lifetime):
    """An HS256 token of subject 42 granting user.42, issued now, expiring in `lifetime` seconds."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT", "kid": key_id}
    payload = {"exp": now + lifetime, "iat": now, "sub": "42", "sse": {"subscribe": ["user.42"]}}
    signing = ".".join(base64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload))
    return signing + "." + base64url(hmac.new(secret, signing.encode(), hashlib.sha256).digest())


def run(arguments):
    with open(arguments.key_file, "rb") as file:
        secret = file.read().rstrip(b"\r\n")
    gateway = arguments.gateway.rstrip("/")
    refreshes = []
    lock = threading.Lock()
    fresh_cookie = cookie_setter(lambda: mint(secret, arguments.key_id, 60))

    def token(query):
        with lock:
            refreshes.append(time.monotonic())
        return fresh_cookie(query)

    with open(ENGINE, "rb") as file:
        engine = file.read()
    routes = {
        ("GET", "/login"): cookie_setter(lambda: mint(secret, arguments.key_id, 5)),
        ("GET", "/engine.js"): lambda _query: (200, engine, [("Content-Type", "text/javascript")]),
        ("POST", "/token"): token,
    }
    server = serve(arguments.page_port, routes)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    driver = chromium()
    try:
        marker = run_ssectl(arguments, "publish", "user.42", "page rendered")
        page = PAGE.replace("@GATEWAY@", gateway).replace("@MARKER@", marker)
        routes[("GET", "/engine.html")] = html(page.encode())
        driver.get(f"{origin}/login")
        driver.get(f"{origin}/engine.html")
        state = lambda: driver.execute_script("return document.getElementById('state').textContent")
        wait_for("engine.js to be live", 10, lambda: state() == "live", show_last=True)
        step(f"{origin}/engine.html is live on user.42 with a cookie that expires in 5 s")

        published, refreshed_after = [], None
        deadline = time.monotonic() + 25
        while len(published) < MAXIMUM_EVENTS and time.monotonic() < deadline:
            patch = json.dumps({"html": {"count": str(len(published))}})
            published.append(run_ssectl(arguments, "publish", "user.42", patch))
            with lock:
                if refreshes and refreshed_after is None:
                    refreshed_after = len(published)
            if refreshed_after is not None and len(published) >= refreshed_after + 10:
                break
            time.sleep(0.1)
        if refreshed_after is None:
            raise StepFailed(f"engine.js never asked for a fresh token ({len(published)} events, state {state()!r})")
        step(f"the stream expired: engine.js asked /token after {refreshed_after} of {len(published)} events")

        applied = lambda: driver.execute_script("return engine.connection.applied.slice()")
        wait_for("the last event on the page", 10, lambda: (applied() or [None])[-1] == published[-1], show_last=True)
        got = applied()
        if got != published:
            missing = [id for id in published if id not in got]
            repeated = len(got) - len(set(got))
            raise StepFailed(f"applied {len(got)} of {len(published)}: missing {missing[:5]}, {repeated} repeated")
        counts = driver.execute_script("return window.counts")
        if counts != [str(number) for number in range(len(published))]:
            raise StepFailed(f"the page's counts are not 0…{len(published) - 1} once each: {counts}")
        count = driver.execute_script("return document.getElementById('count').textContent")
        if count != str(len(published) - 1) or state() != "live" or len(refreshes) != 1:
            raise StepFailed(f"count {count!r}, state {state()!r}, {len(refreshes)} token requests")
        step(f"every one of {len(published)} events applied once, in order, across the expiry; count {count}")
    finally:
        driver.quit()
        server.shutdown()


def main():
    parser = argument_parser(__doc__)
    parser.add_argument("--gateway", required=True, help="the gateway's base URL (nginx), e.g. http://127.0.0.1:8000")
    parser.add_argument("--page-port", type=int, required=True, help="the port of the page origin (listed by name)")
    parser.add_argument("--key-file", required=True, help="the gateways' HS256 secret")
    parser.add_argument("--key-id", default="main")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--ssectl", required=True, help="the built ssectl, to publish")
    return main_wrapper(run, parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
