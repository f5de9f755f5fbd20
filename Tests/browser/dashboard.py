#!/usr/bin/python3
"""The cluster dashboard in a real browser, through nginx: nodes live, their stream counts, a killed node down.

Drives headless Chromium against a running cluster (nginx in front of the gateway nodes and the publisher):

1. /dashboard shows the live badge and one row per node, each `ready`.
2. Four streams opened on node 2 (directly on its port) show in node 2's row, live, without a refresh: the row
   reaches the node's own active_connections, read from /nodes/2/sse-metrics.
3. The node given with --kill (SIGKILL, by the pid given) shows as `down` within 3 s of the kill; the other rows
   stay `ready` and the Down total says 1.

Usage: dashboard.py --url http://127.0.0.1:8000/ --node 1=PID --node-id 1=ID --node-port 1=PORT … --kill 3
       [--screenshot PATH]
Exit status 0 when every step held, else 1 with the failed step on stderr.
"""

import os
import signal
import socket
import sys
import time

from browser_support import (StepFailed, active_connections, add_node_option, argument_parser, chromium,
                             main_wrapper, node_pids, step, wait_for, with_slash)


def rows(driver):
    """{node id: (state, streams)} as the page shows them now, read in one script call."""
    return {entry[0]: (entry[1], entry[2]) for entry in driver.execute_script(
        "return Array.from(document.querySelectorAll('[data-nodes] tr[data-node]'), function (r) {"
        "  return [r.getAttribute('data-node'), r.getAttribute('data-state'),"
        "          r.querySelector('[data-field=streams]').textContent]; });")}


def total(driver, field):
    return driver.execute_script(
        "var e = document.querySelector('[data-total=\"' + arguments[0] + '\"] .value'); return e && e.textContent;",
        field)


def open_stream(port, topic):
    """A raw SSE request on a node's own port, kept open (the caller closes it)."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.sendall(f"GET /sse?topic={topic} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
                       .encode())
    head = b""
    while b": connected" not in head:
        chunk = connection.recv(4096)
        if not chunk:
            raise StepFailed(f"the stream on port {port} closed before it was connected")
        head += chunk
    return connection


def pairs(parser, items, name):
    values = {}
    for item in items:
        number, _, value = item.partition("=")
        if not number.isdigit() or not value:
            parser.error(f'--{name} "{item}" is invalid: expected N=VALUE')
        values[int(number)] = value
    return values


def run(base, nodes, ids, ports, victim, screenshot):
    driver = chromium("--window-size=1200,860")
    streams = []
    try:
        driver.get(f"{base}dashboard")
        wait_for("the live badge", 10, lambda: driver.execute_script(
            "return document.querySelector('[data-live]').getAttribute('data-state');") == "live")
        expected = sorted(ids.values())
        wait_for("a ready row per node", 10,
                 lambda: sorted(rows(driver)) == expected and all(s == "ready" for s, _ in rows(driver).values()),
                 show_last=True)
        step(f"the dashboard shows {len(ids)} nodes ready: {', '.join(expected)}")

        streams = [open_stream(int(ports[2]), "dashboard-check") for _ in range(4)]
        target = active_connections(base, [2])[2]
        wait_for(f"node 2's row to show its {target} streams", 5,
                 lambda: rows(driver)[ids[2]][1] == str(target), show_last=True)
        step(f"node 2's row shows its {target} streams live (4 opened)")
        if screenshot:
            driver.save_screenshot(screenshot)
            step(f"screenshot at {screenshot}")

        os.kill(nodes[victim], signal.SIGKILL)
        killed = time.monotonic()
        wait_for(f"node {victim} shown as down", 5, lambda: rows(driver)[ids[victim]][0] == "down", interval=0.02)
        took = time.monotonic() - killed
        if took > 3.0:
            raise StepFailed(f"node {victim} showed as down only {took:.2f} s after the kill")
        others = {node: state for node, (state, _) in rows(driver).items() if node != ids[victim]}
        if set(others.values()) != {"ready"} or total(driver, "down") != "1":
            raise StepFailed(f"after the kill: rows {others}, Down total {total(driver, 'down')}")
        step(f"killed node {victim} shows as down after {took:.2f} s; the others stay ready")
    finally:
        for stream in streams:
            stream.close()
        driver.quit()


def main():
    parser = argument_parser(__doc__)
    parser.add_argument("--url", required=True)
    add_node_option(parser, "a gateway node's number and pid")
    parser.add_argument("--node-id", action="append", required=True, metavar="N=ID")
    parser.add_argument("--node-port", action="append", required=True, metavar="N=PORT")
    parser.add_argument("--kill", type=int, required=True, metavar="N")
    parser.add_argument("--screenshot")
    arguments = parser.parse_args()
    nodes = node_pids(parser, arguments.node)
    ids = pairs(parser, arguments.node_id, "node-id")
    ports = pairs(parser, arguments.node_port, "node-port")
    if set(nodes) != set(ids) or set(ids) != set(ports) or 2 not in nodes or arguments.kill not in nodes:
        parser.error("--node, --node-id and --node-port must name the same nodes, including 2 and --kill")
    return main_wrapper(run, with_slash(arguments.url), nodes, ids, ports, arguments.kill, arguments.screenshot)


if __name__ == "__main__":
    sys.exit(main())
