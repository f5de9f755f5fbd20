#!/usr/bin/python3
"""The demo's private visitor topics in a real browser, through nginx.

Drives headless Chromium (Debian's chromium and chromium-driver, with python3-selenium) against a cluster whose
publisher signs visitor tokens and whose nodes verify them (deploy/local-cluster runs it so): two browsers, so two
visitors, on the board.

1. Each browser got its visitor cookies (sse_visitor and sse_token, both HttpOnly and SameSite=Lax) and its page is
   live on board and its own visitor.<id> (same origin: EventSource sends the cookie by itself).
2. Visitor A posts: A's page shows "Your post #N was published" in #notice; B's page shows the post but no notice.
3. Visitor B posts: B's page shows its own notice; A's notice still names A's post.
4. A's page asking the gateway for B's topic (fetch, same origin, with its cookies) is refused with 403.
5. With --renewal-within SECONDS (a cluster whose publisher has a short --token-lifetime): the gateway ends A's
   stream at its token's expiry, engine.js gets a new sse_token cookie at POST /token within that time and
   resumes, and a post by A then still reaches A's notice.

Usage: private_notice.py --url http://127.0.0.1:8000/ [--renewal-within SECONDS]
Exit status 0 when every step held; otherwise 1 with the failed step on stderr. Steps are printed as they pass.
ClusterTests/PrivateNoticeBrowserTests runs it against a cluster it started.
"""

import re
import sys
import time

from browser_support import StepFailed, argument_parser, chromium, main_wrapper, post_with_form, step, wait_for, with_slash


def page_state(driver):
    """The stream state, the #notice text, the post texts and the script's topics, read in one call."""
    return driver.execute_script(
        "var mark = document.querySelector('[data-sse-state]'), notice = document.getElementById('notice');"
        "var script = document.querySelector('script[data-topic]');"
        "return {state: mark && mark.getAttribute('data-state'), notice: notice && notice.textContent,"
        " posts: Array.from(document.querySelectorAll('#posts .post .text'), function (e) { return e.textContent; }),"
        " topics: script && script.getAttribute('data-topic'), tokenURL: script && script.getAttribute('data-token-url')};")


def visitor_of(driver, name):
    """The visitor id from the browser's cookies, after checking both cookies' flags."""
    cookies = {cookie["name"]: cookie for cookie in driver.get_cookies()}
    for cookie in ("sse_visitor", "sse_token"):
        found = cookies.get(cookie)
        if not found or not found.get("httpOnly") or found.get("sameSite") != "Lax" or found.get("path") != "/":
            raise StepFailed(f"browser {name}: cookie {cookie} is missing or not HttpOnly, SameSite=Lax, Path=/: {found}")
    visitor = cookies["sse_visitor"]["value"]
    if not re.fullmatch(r"[0-9a-f]{32}", visitor):
        raise StepFailed(f"browser {name}: visitor id {visitor!r} is not 32 hex digits")
    return visitor


def open_board(driver, base, name):
    driver.get(base)
    visitor = visitor_of(driver, name)
    state = wait_for(f"browser {name}'s page to be live", 15,
                     lambda: (lambda s: s if s["state"] == "live" else None)(page_state(driver)), show_last=True)
    if state["topics"] != f"board visitor.{visitor}" or state["tokenURL"] != "/token":
        raise StepFailed(f"browser {name}'s page follows {state['topics']!r} with token URL {state['tokenURL']!r}")
    step(f"browser {name} is visitor {visitor[:8]}…, live on board and its own topic")
    return visitor


NOTICE = re.compile(r"Your post #(\d+) was published")


def notice_number(driver):
    match = NOTICE.fullmatch(page_state(driver)["notice"] or "")
    return int(match.group(1)) if match else None


def token_of(driver):
    return {cookie["name"]: cookie["value"] for cookie in driver.get_cookies()}.get("sse_token")


def run(base, renewal_within):
    driver_a, driver_b = chromium("--window-size=1000,900"), chromium("--window-size=1000,900")
    try:
        visitor_a = open_board(driver_a, base, "A")
        visitor_b = open_board(driver_b, base, "B")
        if visitor_a == visitor_b:
            raise StepFailed("two browsers got the same visitor id")

        first = f"private notice check from A {time.time_ns()}"
        post_with_form(driver_a, driver_a.current_window_handle, "Ada", first)
        number_a = wait_for("A's notice", 5, lambda: notice_number(driver_a))
        wait_for("A's post in B's page", 5, lambda: first in page_state(driver_b)["posts"])
        if page_state(driver_b)["notice"] != "":
            raise StepFailed(f"B's page shows a notice for A's post: {page_state(driver_b)['notice']!r}")
        step(f"A's page says its post #{number_a} was published; B's page shows the post and no notice")

        second = f"private notice check from B {time.time_ns()}"
        post_with_form(driver_b, driver_b.current_window_handle, "Bob", second)
        number_b = wait_for("B's notice", 5, lambda: notice_number(driver_b))
        wait_for("B's post in A's page", 5, lambda: second in page_state(driver_a)["posts"])
        if number_b <= number_a or notice_number(driver_a) != number_a:
            raise StepFailed(f"notices: A shows #{notice_number(driver_a)}, B shows #{number_b} (A posted #{number_a})")
        step(f"B's page says its post #{number_b} was published; A's notice still names #{number_a}")

        status = driver_a.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "fetch('/sse?topic=visitor.' + arguments[0], {credentials: 'include'})"
            ".then(function (r) { return r.text().then(function (t) { done([r.status, t]); }); },"
            " function (e) { done([0, String(e)]); });", visitor_b)
        expected = [403, f'topic "visitor.{visitor_b}" is not granted by the token\n']
        if status != expected:
            raise StepFailed(f"A asking for B's topic got {status!r}, expected {expected!r}")
        step("A's browser asking for B's topic is refused with 403")

        if renewal_within > 0:
            before = token_of(driver_a)
            wait_for("a renewed sse_token cookie in A's browser", renewal_within, lambda: token_of(driver_a) != before)
            wait_for("A's page to be live again", 10, lambda: page_state(driver_a)["state"] == "live")
            third = f"after the renewal {time.time_ns()}"
            post_with_form(driver_a, driver_a.current_window_handle, "Ada", third)
            number = wait_for("A's notice for the post after the renewal", 5,
                              lambda: (lambda n: n if n and n > number_b else None)(notice_number(driver_a)))
            step(f"A's token was renewed at /token, its stream resumed, and its post #{number} was acknowledged")
    finally:
        driver_a.quit()
        driver_b.quit()


def main():
    parser = argument_parser(__doc__)
    parser.add_argument("--url", required=True, help="the board through nginx, e.g. http://127.0.0.1:8000/")
    parser.add_argument("--renewal-within", type=float, default=0,
                        help="seconds within which A's token must be renewed (0: skip that step)")
    arguments = parser.parse_args()
    return main_wrapper(run, with_slash(arguments.url), arguments.renewal_within)


if __name__ == "__main__":
    sys.exit(main())
