#!/usr/bin/python3
"""Browser compatibility suite: the client libraries' mechanisms, through nginx, through a crash, a drain and an end.

Drives headless Chromium (Debian's chromium and chromium-driver, with python3-selenium) against a running cluster
of two gateway nodes behind nginx that also serves Tests/browser/compat/ as /compat/. Four pages of the project's
own, each using exactly the mechanism of a client library (see each page's script):

  eventsource  EventSource without credentials, unnamed engine-dialect patches        (engine.js)
  named        EventSource {withCredentials: true}, named htmx-dialect events swapped (htmx's SSE extension)
  fetch        fetch + body reader with Datastar's headers, datastar dialect, retries  (Datastar's @get)
  turbo        a stream-source element applying <turbo-stream> messages               (Turbo's stream source)

Each page is open twice: same-origin (page and stream on http://127.0.0.1:PORT) and cross-origin (page on
http://localhost:PORT, stream on http://127.0.0.1:PORT). Every tab follows a topic of its own; each patch is
published to every topic, so every tab must show the same patch numbers: each exactly once, in order.

Scenarios, in this order, each checked on every tab:
  publish   patches published with ssectl patch are applied
  kill      kill -9 of the node holding the most streams, patches published while it is down, restart; then the
            same for the other node, which by then holds every stream (so every tab's stream is cut)
  drain     SIGTERM of the node holding every stream, patches published while it drains, restart
  end       ssectl end TOPIC: each page closes its stream (EventSource pages on the end event, the fetch page on
            the clean end of its body) and no stream opens again for 3 s (the nodes' active_connections stay 0)

Nodes are restarted from the command line and environment the killed one was started with (read from /proc
before any signal); those restarts are this script's children, die with it and are stopped at its end. Before the
next fault, the script waits until nginx hands new streams to the restarted node again (probe streams on a topic
of their own): nginx's passive health check leaves a failed node out of the pool for a while.

Usage: compat_suite.py --port PORT --redis-url URL --ssectl PATH --node 1=PID --node 2=PID
Prints "ok: …" per passed check, "FAIL: [page, origin] scenario: what" per failed one, a table, then PASSED (exit
status 0) or FAILED (1). ClusterTests/BrowserCompatTests runs it against a cluster it started.
"""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from browser_support import add_node_option, argument_parser, chromium, node_pids, poll, step
from compat_cluster import Cluster, run_ssectl
from compat_pages import ORIGINS, PAGES, SCENARIOS, Tab, describe, parse, sequence_problem

# Each page runs in a window of its own, mostly in the background: its timers and rendering must not be slowed.
BROWSER_FLAGS = ("--window-size=800,600", "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows")


def ok(text):
    step(f"{clock()} {text}")


def clock():
    """Wall-clock time of day with milliseconds, to line up with the pages' error times and nginx's logs."""
    now = time.time()
    return time.strftime("%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}"


class Suite:
    def __init__(self, arguments, cluster):
        self.args, self.cluster = arguments, cluster
        self.published = []
        self.tabs = [Tab(page, origin, f"compat-{page}-{origin.split('-')[0]}") for origin in ORIGINS
                     for page in PAGES]
        self.drivers = []

    # Publishing

    def publish(self, count, what):
        """Publishes the next `count` patches to every tab's topic (topics in parallel, patches in order)."""
        numbers = list(range(len(self.published) + 1, len(self.published) + count + 1))

        def publish_topic(tab):
            for n in numbers:
                run_ssectl(self.args, "patch", tab.topic, "--html", f'slot=<b data-n="{n}">patch {n}</b>')

        with ThreadPoolExecutor(len(self.tabs)) as pool:
            list(pool.map(publish_topic, self.tabs))
        self.published += numbers
        ok(f"published patches {numbers[0]}–{numbers[-1]} to every topic {what}")

    # Browser

    def open_tabs(self):
        # Two browsers: Chromium holds at most 6 HTTP/1.1 connections per host, and all 8 streams go to
        # 127.0.0.1:PORT; four streams per browser leave room for page loads.
        stream = f"http://127.0.0.1:{self.args.port}"
        for origin in ORIGINS:
            driver = chromium(*BROWSER_FLAGS)
            self.drivers.append(driver)
            host = "127.0.0.1" if origin == "same-origin" else "localhost"
            for tab in (t for t in self.tabs if t.origin == origin):
                after = run_ssectl(self.args, "publish", tab.topic, "page rendered")
                query = f"topic={tab.topic}&after={after}"
                if origin == "cross-origin":
                    query += f"&stream={stream}"
                if driver.current_url.startswith("http"):
                    driver.switch_to.new_window("window")
                driver.get(f"http://{host}:{self.args.port}/compat/{tab.page}.html?{query}")
                tab.driver, tab.handle = driver, driver.current_window_handle

    def states(self):
        return {tab: tab.state() or {} for tab in self.tabs}

    def wait_until_open(self, scenario, timeout=10):
        states = poll(timeout, lambda: (lambda s: s if all(v.get("connection") == "open" for v in s.values())
                                        else None)(self.states()), 0.1) or self.states()
        for tab, state in states.items():
            if state.get("connection") != "open":
                tab.fail(scenario, f"stream not open: {describe(state)}")
        return states

    def check_applied(self, scenario, timeout=12):
        """Waits until every tab shows every patch published so far, then checks each tab's sequence."""
        expected = list(self.published)
        poll(timeout, lambda: all(s.get("applied") == expected for s in self.states().values()), 0.2)
        states = self.states()
        for tab, state in states.items():
            problem = sequence_problem(state.get("applied", []), expected)
            if problem:
                tab.fail(scenario, f"patches: {problem}; {describe(state)}")
            for key in ("resyncs", "unexpected"):
                if state.get(key):
                    tab.fail(scenario, f"{key}: {state[key]}")
        good = [tab for tab in self.tabs if not tab.failures[scenario]]
        ok(f"{scenario}: {len(good)} of {len(self.tabs)} tabs applied patches 1–{expected[-1]} exactly once, "
           "in order")
        return states

    def check_reconnected(self, scenario, before, fault):
        """Every tab whose stream was open before `fault` opened a new one (so the fault really cut it)."""
        now = self.states()
        for tab, state in now.items():
            if before[tab].get("connection") == "open" and state.get("opens", 0) <= before[tab].get("opens", 0):
                tab.fail(scenario, f"no new stream after {fault}: {describe(state)}")
            if tab.page == "fetch":
                retries = state.get("attempts", [])[1:]
                if any(not attempt["lastEventId"] for attempt in retries):
                    tab.fail(scenario, f"a retry without Last-Event-ID: {state.get('attempts')}")

    # Scenarios

    def scenario_publish(self):
        self.wait_until_open("publish")
        self.publish(3, "with every stream open")
        self.check_applied("publish")

    def scenario_kill(self):
        before = self.wait_until_open("kill")
        counts = self.cluster.active_connections()
        first = max(counts, key=lambda n: counts[n])
        other = next(n for n in counts if n != first)
        streams = sum(1 for state in before.values() if state.get("connection") == "open")
        self.cluster.kill(first)
        ok(f"kill -9 of node {first}, which held {counts[first]} of {sum(counts.values())} streams")
        self.publish(3, f"while node {first} is down")
        moved = poll(10, lambda: self.cluster.active_connections().get(other, 0) >= streams, 0.1)
        ok(f"node {other} holds every open stream ({streams})" if moved else f"node {other} holds "
           f"{self.cluster.active_connections()} of {streams} streams after 10 s")
        self.cluster.restart(first)
        waited = self.cluster.wait_until_in_pool(first)
        ok(f"nginx hands streams to node {first} again, {waited:.1f} s after it was ready")
        before = self.states()
        held = self.cluster.active_connections().get(other)
        self.cluster.kill(other)
        ok(f"kill -9 of node {other}, which held {held} streams (node {first} is back)")
        self.publish(3, f"while node {other} is down")
        self.wait_until_open("kill")
        self.check_reconnected("kill", before, f"kill -9 of node {other}")
        self.cluster.restart(other)
        self.publish(2, "after both restarts")
        self.check_applied("kill")
        self.drain_node = first

    def scenario_drain(self):
        node = self.drain_node
        waited = self.cluster.wait_until_in_pool(3 - node)
        ok(f"nginx hands streams to node {3 - node} again, {waited:.1f} s after it was ready")
        before = self.wait_until_open("drain")
        counts = self.cluster.active_connections()
        self.cluster.terminate(node)
        ok(f"SIGTERM to node {node}, which held {counts.get(node)} of {sum(counts.values())} streams")
        for _ in range(3):
            self.publish(1, f"while node {node} drains")
            time.sleep(0.3)
        status = self.cluster.wait_for_exit(node, 10)
        if status != 0:
            for tab in self.tabs:
                tab.fail("drain", f"node {node} did not exit with status 0 after SIGTERM: {status}")
        self.wait_until_open("drain")
        self.check_reconnected("drain", before, f"SIGTERM of node {node}")
        self.cluster.restart(node)
        self.publish(2, "after the drain")
        self.check_applied("drain")

    def scenario_end(self):
        before = self.states()

        def end(tab):
            return run_ssectl(self.args, "end", tab.topic, "--reason", "compat-suite", check=False)

        with ThreadPoolExecutor(len(self.tabs)) as pool:
            answers = list(pool.map(end, self.tabs))
        for tab, answer in zip(self.tabs, answers):
            if answer is None:
                tab.fail("end", f"ssectl end {tab.topic} failed (see above)")
        ok("ssectl end sent for every topic")
        poll(10, lambda: all(s.get("closed") for s in self.states().values()), 0.2)
        quiet = poll(5, lambda: sum(self.cluster.active_connections().values()) == 0, 0.2)
        ended = self.states()
        # The cluster must stay without a stream while nothing reconnects: polled for 3 s.
        held = poll(3, lambda: sum(self.cluster.active_connections().values()) != 0, 0.25) is False
        after = self.states()
        for tab in self.tabs:
            state = after[tab]
            if not ended[tab].get("closed"):
                tab.fail("end", f"the page did not close its stream: {describe(state)}")
            elif tab.page != "fetch" or state.get("ended"):
                data = parse(state.get("ended"))
                if data.get("reason") != "compat-suite" or data.get("topics") != [tab.topic]:
                    tab.fail("end", f"end event data {state.get('ended')!r}, expected reason compat-suite and "
                                    f"topics [{tab.topic}]")
            else:
                tab.fail("end", "the body ended without an end event first")
            if state.get("opens") != ended[tab].get("opens") or len(state.get("attempts", [])) != len(
                    ended[tab].get("attempts", [])):
                tab.fail("end", f"connected again after the end: {describe(state)}")
            if state.get("opens", 0) < before[tab].get("opens", 0):
                tab.fail("end", "page state went back")
        if not (quiet and held):
            counts = self.cluster.active_connections()
            for tab in self.tabs:
                tab.fail("end", f"the cluster still holds streams after the end: {counts}")
        else:
            ok("no stream open in the cluster for 3 s after the end")

    def run(self):
        self.open_tabs()
        ok(f"opened {len(self.tabs)} tabs: {', '.join(tab.name for tab in self.tabs)}")
        for scenario in SCENARIOS:
            started = time.monotonic()
            getattr(self, f"scenario_{scenario}")()
            ok(f"scenario {scenario} took {time.monotonic() - started:.1f} s")

    def report(self):
        print("\n| page | origin | " + " | ".join(SCENARIOS) + " |")
        print("| --- | --- |" + " --- |" * len(SCENARIOS))
        for tab in self.tabs:
            cells = ["ok" if not tab.failures[s] else f"FAIL ({len(tab.failures[s])})" for s in SCENARIOS]
            print(f"| {tab.page} | {tab.origin} | " + " | ".join(cells) + " |")
        return all(not failures for tab in self.tabs for failures in tab.failures.values())

    def close(self):
        for driver in self.drivers:
            driver.quit()


class Tee:
    """Standard output, also copied to the file named by COMPAT_SUITE_LOG: a passing Swift test shows nothing of
    what the script printed, and the steps and timings of a passing run are worth reading too."""

    def __init__(self, stream, path):
        self.stream, self.file = stream, open(path, "a", encoding="utf-8")

    def write(self, text):
        self.stream.write(text)
        self.file.write(text)

    def flush(self):
        self.stream.flush()
        self.file.flush()


def main():
    if os.environ.get("COMPAT_SUITE_LOG"):
        sys.stdout = Tee(sys.stdout, os.environ["COMPAT_SUITE_LOG"])
    parser = argument_parser(__doc__)
    parser.add_argument("--port", type=int, required=True, help="nginx's port on 127.0.0.1 (also as localhost)")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--ssectl", required=True, help="the built ssectl")
    add_node_option(parser, "gateway node number (as in /nodes/N/) and its pid; exactly two nodes")
    arguments = parser.parse_args()
    nodes = node_pids(parser, arguments.node)
    if sorted(nodes) != [1, 2]:
        parser.error(f"expected nodes 1 and 2, got {sorted(nodes)}")
    started = time.monotonic()
    cluster = Cluster(arguments, nodes)
    suite = Suite(arguments, cluster)
    try:
        suite.run()
    except Exception as error:  # a broken step: report it with what ran so far
        print(f"FAIL: the suite stopped: {type(error).__name__}: {error}", flush=True)
        suite.tabs[0].failures["end"].append(str(error))
    finally:
        suite.close()
        cluster.stop()
    passed = suite.report()
    print(f"\nran for {time.monotonic() - started:.1f} s", flush=True)
    print("PASSED" if passed else "FAILED", flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
