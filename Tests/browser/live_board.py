#!/usr/bin/python3
"""The demo board in a real browser, through nginx, across gateway nodes.

Drives headless Chromium (Debian's chromium and chromium-driver, with python3-selenium) against a running
cluster: two windows on the board (two browsers, so two visitors), each served by a different gateway node.

1. Both windows show the stream as live.
2. A post made in window A appears in both windows within 2 s.
3. The node serving window A is killed (SIGKILL). While A is reconnecting, a post is made in window B.
4. Window A reconnects through nginx (to another node, resuming after its last event id), shows that post, and
   is live again.

Which node serves a window is read from the nodes' own figures (/nodes/<n>/sse-metrics through nginx): the
window is opened alone, and the node whose active_connections rose serves it. This script kills exactly the pid
it was given for that node.

Usage: live_board.py --url http://127.0.0.1:8000/ --node 1=PID --node 2=PID [--node 3=PID]
Exit status 0 when every step held; otherwise 1 with the failed step on stderr. Steps are printed as they pass.
ClusterTests/BrowserTests runs it against a cluster it started; it also works against deploy/local-cluster
(pass the pids from .run/pids/gateway-N.pid).
"""

import os
import signal
import sys
import time

from browser_support import (StepFailed, active_connections, add_node_option, argument_parser, chromium,
                             main_wrapper, node_pids, post_with_form, step, wait_for, with_slash)
from selenium.webdriver.support.ui import WebDriverWait


# Read in one script call each: a patch may replace the list's content between two WebDriver calls, which would
# leave element references stale.
def stream_state(driver, window):
    driver.switch_to.window(window)
    return driver.execute_script(
        "var mark = document.querySelector('[data-sse-state]'); return mark && mark.getAttribute('data-state');")


def post_texts(driver, window):
    driver.switch_to.window(window)
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#posts .post .text'), function (e) { return e.textContent; });")


def open_window(driver, base, nodes, name):
    """Opens the board in a new window (the first in the current one) and returns (handle, serving node)."""
    before = active_connections(base, nodes)
    if driver.current_url.startswith("http"):
        driver.switch_to.new_window("window")
    driver.get(base)
    handle = driver.current_window_handle
    WebDriverWait(driver, 10).until(
        lambda d: stream_state(d, handle) == "live", f"window {name} never showed the stream as live")

    def moved():
        now = active_connections(base, nodes)
        risen = [number for number in nodes if now[number] == before[number] + 1]
        return risen if sum(now.values()) == sum(before.values()) + 1 and len(risen) == 1 else None

    node = wait_for(f"exactly one node to gain window {name}'s stream", 10, moved)[0]
    step(f"window {name} is live, served by node {node}")
    return handle, node


def run(base, nodes):
    # Two browsers, two visitors: the tabs of one browser share one stream (engine.js), which this test is not about.
    driver_a, driver_b = chromium("--window-size=1000,900"), chromium("--window-size=1000,900")
    try:
        window_a, node_a = open_window(driver_a, base, nodes, "A")
        window_b, node_b = open_window(driver_b, base, nodes, "B")
        if node_a == node_b:
            raise StepFailed(f"both windows are on node {node_a}: least_conn should have spread them")

        first = f"hello from A {time.time_ns()}"
        post_with_form(driver_a, window_a, "Ada", first)
        started = time.monotonic()
        wait_for("the post in both windows", 2.0,
                 lambda: first in post_texts(driver_a, window_a) and first in post_texts(driver_b, window_b), 0.02)
        step(f"a post made in window A appeared in both windows after {time.monotonic() - started:.2f} s")

        os.kill(nodes[node_a], signal.SIGKILL)
        step(f"killed node {node_a} (pid {nodes[node_a]}), which served window A")
        wait_for("window A to notice the lost stream", 10, lambda: stream_state(driver_a, window_a) != "live")
        step(f"window A shows the stream as {stream_state(driver_a, window_a)}")

        second = f"posted by B while A reconnects {time.time_ns()}"
        post_with_form(driver_b, window_b, "Bob", second)
        wait_for("the post in window B", 5, lambda: second in post_texts(driver_b, window_b))
        if stream_state(driver_a, window_a) == "live":
            raise StepFailed("window A was live again before the post was made: the test proves nothing")
        step("window B posted while window A was reconnecting")

        wait_for("window A to show the post made meanwhile", 20, lambda: second in post_texts(driver_a, window_a))
        wait_for("window A to be live again", 10, lambda: stream_state(driver_a, window_a) == "live")
        texts = post_texts(driver_a, window_a)
        if texts.count(first) != 1 or texts.count(second) != 1:
            raise StepFailed(f"window A shows each post once; it shows {texts}")
        survivors = active_connections(base, [number for number in nodes if number != node_a])
        if sum(survivors.values()) != 2:
            raise StepFailed(f"both windows should now be on the surviving nodes: {survivors}")
        step("window A reconnected to another node, shows the post made meanwhile, and is live")
    finally:
        driver_a.quit()
        driver_b.quit()


def main():
    parser = argument_parser(__doc__)
    parser.add_argument("--url", required=True, help="the board through nginx, e.g. http://127.0.0.1:8000/")
    add_node_option(parser, "gateway node number (as in /nodes/N/) and its pid; repeat for each node")
    arguments = parser.parse_args()
    return main_wrapper(run, with_slash(arguments.url), node_pids(parser, arguments.node))


if __name__ == "__main__":
    sys.exit(main())
