#!/usr/bin/python3
"""Many streams from one browser through nginx: over HTTPS with HTTP/2, and over plain HTTP/1.1 for contrast.

Drives headless Chromium (Debian's chromium and chromium-driver, with python3-selenium) against a running
deploy/local-cluster:

1. On a page of the HTTPS front door (HTTP/2, the cluster's self-signed certificate, which Chromium is told to
   accept), the page opens --streams EventSources, one topic each (h2-1, h2-2, …), and waits until all are open.
2. The nodes hold exactly that many streams between them (active_connections, read through the plain port).
3. One event is published to each topic (POST /publish with the cluster's token); every stream receives its own
   event and no other.
4. The streams are closed; the page then opens --plain-streams EventSources (topics h1-1, …) on the plain HTTP
   port, waits until they are open, and closes them.
5. With --node N=PID for every node: back on the HTTPS page, a fetch streaming reader (as Datastar and other
   fetch-based clients read a stream) opens /sse?topic=crash; the node serving it (named in the stream's
   ": connected to gw-N" comment) is killed with SIGKILL, and the reader must fail with a network error (nginx
   resets the HTTP/2 stream), not end as if the stream were complete.
6. With --ssectl PATH --redis-url URL as well: a second reader opens /sse?topic=finish, `ssectl end` ends that
   topic on purpose, and the reader must end cleanly (done) after the in-band `end` event.

nginx logs a request when it ends, so once this script is done its access log holds one line per stream; which
connection and protocol each used is for the caller to check there (ClusterTests/HTTP2Tests does).
Over HTTP/1.1 Chromium opens at most 6 connections per host, so --plain-streams must stay at 6 or below.

Usage: http2_streams.py --https https://127.0.0.1:8443/ --plain http://127.0.0.1:8000/ --nodes 3
                        --token-file .run/publish-token [--streams 10] [--plain-streams 3]
                        [--node 1=PID --node 2=PID … [--ssectl PATH --redis-url redis://127.0.0.1:6390]]
Exit status 0 when every step held; otherwise 1 with the failed step on stderr. Steps are printed as they pass.
"""

import functools
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import browser_support
from browser_support import (StepFailed, add_node_option, argument_parser, chromium, main_wrapper, node_pids, step,
                             total_connections, with_slash)

# A stream count or a reader's state that never came is worth seeing: this script's timeouts name the last value.
wait_for = functools.partial(browser_support.wait_for, show_last=True)


def publish(plain, token, topic, data):
    request = urllib.request.Request(
        f"{plain}publish", data=json.dumps({"topic": topic, "data": data}).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        if response.status != 202:
            raise StepFailed(f"POST /publish for {topic} answered {response.status}")


# The page keeps its streams in window.sseStreams and what each received in window.sseReceived.
OPEN_STREAMS = """
var topics = arguments[0];
window.sseStreams = [];
window.sseReceived = {};
topics.forEach(function (topic) {
    var source = new EventSource('/sse?topic=' + encodeURIComponent(topic));
    window.sseReceived[topic] = [];
    source.onmessage = function (event) { window.sseReceived[topic].push(event.data); };
    window.sseStreams.push(source);
});
"""
OPEN_COUNT = "return window.sseStreams.filter(function (s) { return s.readyState === EventSource.OPEN; }).length;"
CLOSE_STREAMS = "window.sseStreams.forEach(function (s) { s.close(); }); return window.sseStreams.length;"


# A fetch streaming reader on /sse?topic=TOPIC; window.readers[TOPIC] collects the text and how the body ended:
# "done" (a complete response) or "error: <name>: <message>" (the read rejected).
OPEN_READER = """
var topic = arguments[0];
window.readers = window.readers || {};
var state = window.readers[topic] = {text: '', outcome: null};
fetch('/sse?topic=' + encodeURIComponent(topic)).then(function (response) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    function pump() {
        return reader.read().then(function (chunk) {
            if (chunk.done) { state.outcome = 'done'; return; }
            state.text += decoder.decode(chunk.value, {stream: true});
            return pump();
        });
    }
    return pump();
}).catch(function (error) { state.outcome = 'error: ' + error.name + ': ' + error.message; });
"""
READER_STATE = "return window.readers[arguments[0]];"


def open_reader(driver, topic):
    """Starts a fetch reader on `topic` and returns the number of the node serving it once it is connected."""
    driver.execute_script(OPEN_READER, topic)
    state = wait_for(f"the {topic} reader to connect", 10,
                     lambda: re.search(r"^: connected to gw-(\d+)$", driver.execute_script(READER_STATE, topic)["text"],
                                       re.MULTILINE))
    return int(state.group(1))


def reader_outcome(driver, topic):
    return wait_for(f"the {topic} reader to end", 10,
                    lambda: driver.execute_script(READER_STATE, topic)["outcome"])


def crash_and_finish(driver, arguments, nodes):
    driver.get(f"{arguments.https}lb-healthz")
    node = open_reader(driver, "crash")
    os.kill(nodes[node], signal.SIGKILL)
    outcome = reader_outcome(driver, "crash")
    if not outcome.startswith("error: "):
        raise StepFailed(f"after SIGKILL of node {node} the fetch reader ended with {outcome!r}, not an error")
    step(f"killed node {node} (pid {nodes[node]}); the fetch reader over HTTP/2 failed: {outcome}")
    if not arguments.ssectl:
        return
    open_reader(driver, "finish")
    ended = subprocess.run([arguments.ssectl, "end", "--redis-url", arguments.redis_url, "finish"],
                           capture_output=True, text=True, timeout=20, check=False)
    if ended.returncode != 0:
        raise StepFailed(f"ssectl end exited {ended.returncode}: {ended.stdout}{ended.stderr}")
    outcome = reader_outcome(driver, "finish")
    text = driver.execute_script(READER_STATE, "finish")["text"]
    if outcome != "done" or "\nevent: end\n" not in "\n" + text:
        raise StepFailed(f"after ssectl end the fetch reader ended with {outcome!r} after {text!r}")
    step("ssectl end: the fetch reader over HTTP/2 received the end event and ended cleanly")


def open_streams(driver, page, prefix, count):
    driver.get(page)
    topics = [f"{prefix}-{number}" for number in range(1, count + 1)]
    driver.execute_script(OPEN_STREAMS, topics)
    wait_for(f"all {count} {prefix} streams to open", 10, lambda: driver.execute_script(OPEN_COUNT) == count)
    return topics


def run(arguments, nodes):
    with open(arguments.token_file, encoding="utf-8") as file:
        token = file.read().strip()
    # The cluster's certificate is self-signed.
    driver = chromium("--ignore-certificate-errors")
    try:
        # nginx's own health page: it opens no stream of its own, so the page's streams are exactly ours.
        topics = open_streams(driver, f"{arguments.https}lb-healthz", "h2", arguments.streams)
        protocol = driver.execute_script(
            "return performance.getEntriesByType('navigation')[0].nextHopProtocol;")
        if protocol != "h2":
            raise StepFailed(f"the HTTPS page came over {protocol!r}, not h2")
        step(f"{arguments.streams} EventSources are open on one HTTPS page (navigation over {protocol})")

        wait_for(f"the nodes to hold {arguments.streams} streams", 10,
                 lambda: total_connections(arguments.plain, arguments.nodes) == arguments.streams)
        step(f"the nodes hold {arguments.streams} streams between them")

        for topic in topics:
            publish(arguments.plain, token, topic, f"for {topic}")
        expected = {topic: [f"for {topic}"] for topic in topics}
        wait_for("every stream to receive its own event", 10,
                 lambda: driver.execute_script("return window.sseReceived;") == expected)
        step("every stream received exactly its own event")

        closed = driver.execute_script(CLOSE_STREAMS)
        wait_for("the nodes to see the streams closed", 10,
                 lambda: total_connections(arguments.plain, arguments.nodes) == 0)
        step(f"closed {closed} streams; the nodes hold none")

        open_streams(driver, f"{arguments.plain}lb-healthz", "h1", arguments.plain_streams)
        step(f"{arguments.plain_streams} EventSources are open on one plain HTTP page")
        driver.execute_script(CLOSE_STREAMS)
        wait_for("the nodes to see the plain streams closed", 10,
                 lambda: total_connections(arguments.plain, arguments.nodes) == 0)
        step("closed the plain streams")
        if nodes:
            crash_and_finish(driver, arguments, nodes)
    finally:
        driver.quit()


def main():
    parser = argument_parser(__doc__)
    parser.add_argument("--https", required=True, help="the HTTPS front door, e.g. https://127.0.0.1:8443/")
    parser.add_argument("--plain", required=True, help="the plain HTTP front door, e.g. http://127.0.0.1:8000/")
    parser.add_argument("--nodes", type=int, required=True, help="how many gateway nodes the cluster has")
    parser.add_argument("--token-file", required=True, help="the cluster's publish token (.run/publish-token)")
    parser.add_argument("--streams", type=int, default=10, help="streams over HTTPS (default 10)")
    parser.add_argument("--plain-streams", type=int, default=3, help="streams over plain HTTP, at most 6")
    add_node_option(parser, "gateway node number and pid, for every node: adds the SIGKILL check", required=False)
    parser.add_argument("--ssectl", help="the ssectl executable: adds the clean end check (needs --redis-url)")
    parser.add_argument("--redis-url", help="the cluster's Redis, for ssectl end")
    arguments = parser.parse_args()
    nodes = node_pids(parser, arguments.node)
    if nodes and len(nodes) != arguments.nodes:
        parser.error(f"--node must be given for all {arguments.nodes} nodes")
    if arguments.ssectl and not (nodes and arguments.redis_url):
        parser.error("--ssectl needs --redis-url and --node")
    if not 1 <= arguments.plain_streams <= 6:
        parser.error("--plain-streams must be 1 to 6: Chromium opens at most 6 HTTP/1.1 connections per host")
    for name in ("https", "plain"):
        setattr(arguments, name, with_slash(getattr(arguments, name)))
    return main_wrapper(run, arguments, nodes)


if __name__ == "__main__":
    sys.exit(main())
