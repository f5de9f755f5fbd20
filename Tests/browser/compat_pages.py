"""The compatibility pages as compat_suite.py sees them: one Tab per page and origin, and how a page's recorded state
(window.compat.state, written by Tests/browser/compat/compat.js) is judged and described in failure messages."""

import json

PAGES = ("eventsource", "named", "fetch", "turbo")
ORIGINS = ("same-origin", "cross-origin")
SCENARIOS = ("publish", "kill", "drain", "end")


class Tab:
    """One page in one origin setting, in a window of its own."""

    def __init__(self, page, origin, topic):
        self.page, self.origin, self.topic = page, origin, topic
        self.driver = self.handle = None
        self.failures = {scenario: [] for scenario in SCENARIOS}

    @property
    def name(self):
        return f"{self.page}, {self.origin}"

    def state(self):
        """The page's window.compat.state, read in one script call (None if the page has none)."""
        self.driver.switch_to.window(self.handle)
        return self.driver.execute_script("return window.compat ? window.compat.state : null;")

    def fail(self, scenario, text):
        self.failures[scenario].append(text)
        print(f"FAIL: [{self.name}] {scenario}: {text}", flush=True)


def sequence_problem(applied, expected):
    """How `applied` differs from `expected` (each exactly once, in order), or None."""
    if applied == expected:
        return None
    problems = []
    repeated = sorted({n for n in applied if applied.count(n) > 1})
    if repeated:
        problems.append(f"applied more than once: {repeated}")
    missing = [n for n in expected if n not in applied]
    if missing:
        problems.append(f"never applied: {missing}")
    stray = sorted({n for n in applied if n not in expected})
    if stray:
        problems.append(f"never published: {stray}")
    if not problems:
        index = next(i for i, (a, b) in enumerate(zip(applied, expected)) if a != b)
        problems.append(f"out of order from position {index}")
    return "; ".join(problems) + f" (applied {applied})"


def parse(text):
    try:
        value = json.loads(text or "")
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {}


def describe(state):
    """A page's connection history in one line, for failure messages."""
    if not state:
        return "page has no compat state (did it load?)"
    attempts = [a["lastEventId"] or "-" for a in state.get("attempts", [])]
    return (f"connection {state.get('connection')}, opens {state.get('opens')}, last id "
            f"{state.get('lastEventId') or '-'}, closed {state.get('closed')}"
            + (f", attempts after {attempts}" if attempts else "")
            + (f", errors {state.get('errors')[-4:]}" if state.get("errors") else ""))
