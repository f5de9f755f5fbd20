"""What the browser scripts in this folder share: polling with a deadline, the nodes' figures through nginx,
headless Chromium, step lines, `--node N=PID` and the PASSED/FAILED ending.

The scripts are run as `/usr/bin/python3 Tests/browser/<script>.py …`, so Python puts this folder first on
sys.path and `import browser_support` finds this file without any setup.
"""

import argparse
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Headless without a sandbox (the tests may run as root) and without /dev/shm (small in containers).
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu")


class StepFailed(Exception):
    """A step whose check did not hold; main_wrapper prints its message after FAILED: on stderr."""


def step(text):
    """Prints a passed step as `ok: TEXT`, flushed so the caller sees progress as it happens."""
    print(f"ok: {text}", flush=True)


def poll(timeout, condition, interval=0.05):
    """Calls condition until it returns something truthy or `timeout` s have passed; returns its last value (falsy
    on timeout), for callers that judge a timeout themselves."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def wait_for(what, timeout, condition, interval=0.05, show_last=False):
    """Polls condition until it returns something truthy and returns that; StepFailed naming `what` after `timeout`
    seconds (with the condition's last value when show_last is set)."""
    value = poll(timeout, condition, interval)
    if value:
        return value
    last = f" (last: {value!r})" if show_last else ""
    raise StepFailed(f"timed out after {timeout} s waiting for {what}{last}")


def with_slash(url):
    """The URL with a trailing slash, so paths can be appended as f"{base}path"."""
    return url if url.endswith("/") else url + "/"


def active_connections(base, numbers, timeout=5, skip_failed=False):
    """Each node's active_connections by node number, read from BASE/nodes/N/sse-metrics (through nginx). With
    skip_failed, a node that does not answer 200 (down, restarting) is left out instead of raising."""
    counts = {}
    for number in numbers:
        try:
            with urllib.request.urlopen(f"{base}nodes/{number}/sse-metrics", timeout=timeout) as response:
                counts[number] = json.load(response)["active_connections"]
        except OSError:  # also urllib's HTTPError and URLError
            if not skip_failed:
                raise
    return counts


def total_connections(base, nodes):
    """The sum of active_connections over nodes 1…`nodes`: how many streams the whole cluster holds."""
    return sum(active_connections(base, range(1, nodes + 1)).values())


def chromium(*flags):
    """A headless Chromium (Debian's chromium and chromium-driver) with the common flags and `flags`."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + flags:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def post_with_form(driver, handle, author, text):
    """Fills the board's form in the window or tab `handle` and submits it (engine.js sends it with fetch)."""
    driver.switch_to.window(handle)
    for field, value in (("post-author", author), ("post-text", text)):
        element = driver.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "#post-form [type=submit]").click()


def argument_parser(doc):
    """An argument parser described by the first line of the script's docstring."""
    return argparse.ArgumentParser(description=doc.split("\n")[0])


def add_node_option(parser, help_text, required=True):
    """Adds the repeatable `--node N=PID` (a gateway node's number, as in /nodes/N/, and its pid)."""
    presence = {"required": True} if required else {"default": []}
    parser.add_argument("--node", action="append", metavar="N=PID", help=help_text, **presence)


def node_pids(parser, items):
    """The `--node N=PID` items as {N: PID}; a malformed item ends the script through parser.error (status 2)."""
    nodes = {}
    for item in items:
        number, _, pid = item.partition("=")
        if not number.isdigit() or not pid.isdigit():
            parser.error(f'--node "{item}" is invalid: expected N=PID, e.g. 1=4242')
        nodes[int(number)] = int(pid)
    return nodes


def main_wrapper(run, *arguments):
    """Runs run(*arguments): PASSED on stdout and 0 when every step held, else FAILED: <step> on stderr and 1.
    Selenium's TimeoutException (a WebDriverWait that ran out) counts as a failed step."""
    try:
        run(*arguments)
    except (StepFailed, TimeoutException) as failure:
        print(f"FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    print("PASSED", flush=True)
    return 0
