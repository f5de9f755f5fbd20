"""Streams of two topics on a Redis Cluster in a real browser: three of the project's compatibility pages (a plain
EventSource, a credentialed EventSource with named events, a fetch body reader with Datastar's headers and retry
rules) each follow two topics that live on two different shards, so every `id:` line is a stream position.

Run by Tests/ClusterTests/BrowserClusterPositionsTests.swift with two nodes behind nginx on a Redis Cluster:

    /usr/bin/python3 Tests/browser/cluster_positions.py --port NGINX --redis-url redis-cluster://… --ssectl PATH \
        --page eventsource=TOPIC_A,TOPIC_B --page named=… --page fetch=… --node 1=PID --node 2=PID

Steps: patches go to both topics of every page; each node in turn is killed with SIGKILL and restarted (the second
only once the first is back in nginx's pool), with patches published while the pages are away; every page must end
with every patch applied exactly once, in order per topic, having come back with its position (its last id is a
`p1.` position naming both topics) and without a resync.
"""

import sys
from concurrent.futures import ThreadPoolExecutor

from browser_support import (add_node_option, argument_parser, chromium, main_wrapper, node_pids, step,
                             StepFailed, wait_for)
from compat_cluster import Cluster, run_ssectl


def run(arguments, pages, nodes):
    cluster = Cluster(arguments, nodes)
    driver = chromium()
    published = {page: [] for page in pages}
    counter = [0]

    def state(page):
        driver.switch_to.window(handles[page])
        return driver.execute_script("return window.compat.state;")

    def publish(rounds, what):
        # Numbers are assigned up front, then each page's two topics are published in parallel with the others.
        plan = {page: [] for page in pages}
        for _ in range(rounds):
            for page, topics in pages.items():
                for topic in topics:
                    counter[0] += 1
                    plan[page].append((topic, counter[0]))

        def one(page):
            for topic, number in plan[page]:
                run_ssectl(arguments, "patch", topic, "--html", f'slot=<b data-n="{number}">patch {number}</b>')

        with ThreadPoolExecutor(len(pages)) as pool:
            list(pool.map(one, pages))
        for page in pages:
            published[page] += plan[page]
        step(f"published {rounds * 2} patches to each page's two topics {what}")

    def all_applied():
        return all(len(state(page)["applied"]) >= len(published[page]) for page in pages)

    try:
        handles = {}
        for page, topics in pages.items():
            if driver.current_url.startswith("http"):
                driver.switch_to.new_window("window")
            driver.get(f"http://127.0.0.1:{arguments.port}/compat/{page}.html?topic={','.join(topics)}")
            handles[page] = driver.current_window_handle
        wait_for("every page's stream open", 20, lambda: sum(cluster.active_connections().values()) >= len(pages))
        # Open is not yet joined: a stream of two topics on a Cluster is live once both are subscribed on their
        # shards and its position seeded; a patch published before that is not the stream's to receive.
        wait_for("every page's stream joined", 20, lambda: (cluster.joined_streams() or 0) >= len(pages))
        step(f"{len(pages)} pages open, each on two topics of two shards")
        publish(3, "with every node up")
        wait_for("the first patches on every page", 20, all_applied)
        for page in pages:
            last = state(page)["lastEventId"]
            if not last.startswith("p1.") or last.count("~") != 2:
                raise StepFailed(f"{page}: the last id {last!r} is not a position of two topics")
        step("every page's last id is a stream position of its two topics")

        for number in sorted(nodes):
            cluster.kill(number)
            step(f"node {number} killed")
            publish(3, f"while node {number} is down")
            wait_for(f"every page back on the other node after node {number} died", 30,
                     lambda: sum(cluster.active_connections().values()) >= len(pages))
            cluster.restart(number)
            cluster.wait_until_in_pool(number)
        publish(2, "with every node back")
        wait_for("every patch on every page", 40, all_applied)

        for page, topics in pages.items():
            seen = state(page)
            applied = seen["applied"]
            if len(applied) != len(set(applied)):
                raise StepFailed(f"{page}: a patch applied twice: {applied}")
            for topic in topics:
                wanted = [number for t, number in published[page] if t == topic]
                got = [number for number in applied if number in wanted]
                if got != wanted:
                    raise StepFailed(f"{page} {topic}: applied {got}, published {wanted}")
            if seen["resyncs"]:
                raise StepFailed(f"{page}: told to resync: {seen['resyncs']}")
            if seen["unexpected"]:
                raise StepFailed(f"{page}: unexpected content: {seen['unexpected']}")
            step(f"{page}: {len(applied)} patches once each, in order per topic, {seen['opens']} opens")
    finally:
        driver.quit()
        cluster.stop()


def main():
    parser = argument_parser(__doc__)
    parser.add_argument("--port", type=int, required=True, help="nginx's public port")
    parser.add_argument("--redis-url", required=True, help="the cluster's redis-cluster:// URL, for ssectl")
    parser.add_argument("--ssectl", required=True, help="the ssectl executable")
    parser.add_argument("--page", action="append", required=True, metavar="PAGE=A,B",
                        help="a compatibility page and its two topics")
    add_node_option(parser, "a gateway node (number as in /nodes/N/) and its pid")
    arguments = parser.parse_args()
    pages = {}
    for item in arguments.page:
        page, _, topics = item.partition("=")
        if page not in ("eventsource", "named", "fetch") or len(topics.split(",")) != 2:
            parser.error(f'--page "{item}" is invalid: expected eventsource|named|fetch=TOPIC_A,TOPIC_B')
        pages[page] = topics.split(",")
    return main_wrapper(run, arguments, pages, node_pids(parser, arguments.node))


if __name__ == "__main__":
    sys.exit(main())
