"""The gateway nodes and ssectl as compat_suite.py uses them: node figures through nginx, kill -9, SIGTERM, restart.

A node is restarted from the exact command line, environment and working directory its first process had (read
from /proc before any signal), so it listens on the same port and nginx's upstream finds it again. Restarted
nodes are children of this script that receive SIGKILL if it dies (PR_SET_PDEATHSIG) and are stopped by
Cluster.stop; signals only ever go to the pids given on the command line or to those children.
"""

import ctypes
import http.client
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from browser_support import active_connections, step

PR_SET_PDEATHSIG = 1


def run_ssectl(arguments, command, *rest, check=True):
    """Runs `ssectl COMMAND --redis-url URL REST…`; its output without the line break, or None (printed) if it
    failed and check is False."""
    result = subprocess.run([arguments.ssectl, command, "--redis-url", arguments.redis_url, *rest],
                            capture_output=True, text=True, timeout=15)
    if result.returncode == 0:
        return result.stdout.strip()
    message = f"ssectl {command} {' '.join(rest)} exited {result.returncode}: {result.stderr.strip()[:300]}"
    if check:
        raise RuntimeError(message)
    print(f"FAIL: {message}", flush=True)
    return None


def _die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Node:
    def __init__(self, number, pid):
        self.number, self.pid, self.child = number, pid, None
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            self.argv = [part.decode() for part in file.read().split(b"\0") if part]
        with open(f"/proc/{pid}/environ", "rb") as file:
            pairs = [part.decode(errors="replace").partition("=") for part in file.read().split(b"\0") if part]
        self.env = {name: value for name, _, value in pairs}
        self.cwd = os.readlink(f"/proc/{pid}/cwd")
        if not self.argv or not self.argv[0].endswith("sse-gateway"):
            raise RuntimeError(f"pid {pid} is not an sse-gateway: {self.argv[:1]}")
        self.log = None


class Cluster:
    def __init__(self, arguments, pids):
        self.arguments = arguments
        self.nodes = {number: Node(number, pid) for number, pid in pids.items()}
        self.base = f"http://127.0.0.1:{arguments.port}"
        self.logs = tempfile.mkdtemp(prefix="compat-nodes-")

    def _get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=3) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, b""
        except OSError:
            return None, b""

    def active_connections(self):
        """active_connections by node number, for the nodes that answer (a killed or restarting one does not)."""
        return active_connections(self.base + "/", self.nodes, timeout=3, skip_failed=True)

    def joined_streams(self):
        """Streams of the nodes that answer that are live: joined, their topics subscribed and (on a Cluster, for a
        stream of several topics) their positions seeded; a stream still joining shows in /sse-health as replaying.
        None while a node that answers /sse-health has a stream still replaying."""
        live = 0
        for number in self.nodes:
            status, body = self._get(f"/nodes/{number}/sse-health?top=1")
            if status != 200:
                continue
            health = json.loads(body)
            if health["replaying_streams"]:
                return None
            live += health["streams"]
        return live

    def kill(self, number):
        os.kill(self.nodes[number].pid, signal.SIGKILL)
        if self.nodes[number].child:
            self.nodes[number].child.wait(5)

    def terminate(self, number):
        os.kill(self.nodes[number].pid, signal.SIGTERM)

    def wait_for_exit(self, number, timeout):
        """The exit status of a node this script restarted (a negative number for a signal), None if it still
        runs after `timeout` s or is not this script's child."""
        child = self.nodes[number].child
        if child is None:
            return None
        try:
            return child.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def restart(self, number, timeout=20):
        """Starts the node again as it was first started and waits until /nodes/N/readyz answers 200."""
        node = self.nodes[number]
        node.log = open(os.path.join(self.logs, f"node-{number}-{time.time_ns()}.log"), "wb")
        node.child = subprocess.Popen(node.argv, env=node.env, cwd=node.cwd, stdin=subprocess.DEVNULL,
                                      stdout=node.log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        node.pid = node.child.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._get(f"/nodes/{number}/readyz")[0] == 200:
                now = time.strftime("%H:%M:%S", time.gmtime())
                step(f"{now} node {number} restarted (pid {node.pid}) and ready")
                return
            if node.child.poll() is not None:
                break
            time.sleep(0.05)
        with open(node.log.name, "rb") as file:
            tail = file.read()[-2000:].decode(errors="replace")
        raise RuntimeError(f"node {number} did not become ready after a restart:\n{tail}")

    def serving_node(self):
        """The node id nginx hands a new stream to now: a probe stream's `: connected to <id>` comment."""
        connection = http.client.HTTPConnection("127.0.0.1", self.arguments.port, timeout=3)
        try:
            connection.request("GET", "/sse?topic=compat-probe")
            response = connection.getresponse()
            if response.status != 200:
                return f"HTTP {response.status}"
            for _ in range(20):
                line = response.readline().decode(errors="replace").strip()
                if line.startswith(": connected to "):
                    return line[len(": connected to "):]
            return None
        except OSError as error:
            return f"error {error}"
        finally:
            connection.close()

    def wait_until_in_pool(self, number, timeout=20):
        """Waits until nginx hands new streams to node `number` again; returns the seconds it took.

        A node that failed is left out of nginx's pool (max_fails within fail_timeout) for a while after it is
        back. least_conn then sends a probe to the node with the fewest streams: once node `number` is back in
        the pool and holds fewer streams than the others, a probe lands there. A fault injected before that
        would leave nginx with no live node (502) and EventSource gives up on a 502."""
        node = self.nodes[number]
        flag = node.argv.index("--node-id") if "--node-id" in node.argv else -1
        wanted = node.argv[flag + 1] if flag >= 0 else None
        started = time.monotonic()
        seen = None
        while time.monotonic() - started < timeout:
            seen = self.serving_node()
            if wanted is None or seen == wanted:
                return time.monotonic() - started
            time.sleep(0.25)
        raise RuntimeError(f"nginx did not hand a stream to node {number} ({wanted}) within {timeout} s after it "
                           f"was ready; the last probe went to {seen}")

    def stop(self):
        """Stops the nodes this script restarted (SIGTERM, then SIGKILL after 5 s)."""
        for node in self.nodes.values():
            if node.child and node.child.poll() is None:
                node.child.send_signal(signal.SIGTERM)
                try:
                    node.child.wait(5)
                except subprocess.TimeoutExpired:
                    node.child.kill()
                    node.child.wait()
            if node.log:
                node.log.close()
