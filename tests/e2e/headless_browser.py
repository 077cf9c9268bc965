#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol for end-to-end tests of live pages.

`chromium --dump-dom` serialises the page at its load event, before a stream such as an
EventSource has delivered anything, so it cannot see a live page's data. This driver loads the
page, then runs steps in the order given, each bounded in time:

  --wait JS          poll until the JavaScript expression is truthy (fails after --step-timeout)
  --within SECONDS   the next --wait must hold within SECONDS instead (a latency bound)
  --exec CMD         run a shell command (a curl beat, say) and require exit status 0
  --reload           reload the page and wait until the new document is in place
  --dump FILE        write the serialised DOM to FILE
  --screenshot FILE  write a PNG of the viewport (--window WxH) to FILE

An uncaught exception in the page fails the run too.

Python standard library only; Chromium talks over fds 3 and 4 (--remote-debugging-pipe), one
JSON message per NUL-terminated record. Exit status: 0 when every step passed, 1 when a step
failed (the DOM at that moment goes to stderr), 2 when the browser could not be driven.
"""

import argparse
import base64
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

POLL_INTERVAL_S = 0.1
COMMAND_TIMEOUT_S = 15.0
BROWSER_EXIT_TIMEOUT_S = 5.0
DOM_SCRIPT = ("(document.doctype ? new XMLSerializer().serializeToString(document.doctype) + '\\n' : '')"
              " + document.documentElement.outerHTML")


class DriverError(Exception):
    """The browser misbehaved or a protocol command failed."""


class StepFailed(Exception):
    """A step's condition did not hold in time."""


class DevTools:
    """One Chromium process and its protocol pipe. Commands are synchronous; of the events, only
    uncaught page exceptions are kept (in `exceptions`)."""

    def __init__(self, chromium, window, log):
        self._profile = tempfile.TemporaryDirectory(prefix="pulse-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Chromium expects its input on fd 3 and its output on fd 4. Duplicate both ends above
        # any fd the child could be using before moving them into place.
        child_in = _fd_above(to_browser_r, 64)
        child_out = _fd_above(from_browser_w, 64)

        def place_pipe_fds():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
             f"--window-size={window[0]},{window[1]}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(3, 4),
            preexec_fn=place_pipe_fds, start_new_session=True)
        for fd in (to_browser_r, from_browser_w, child_in, child_out):
            os.close(fd)
        self._next_id = 0
        self._buffer = b""
        self.exceptions = []

    def command(self, method, params=None, session=None, timeout=COMMAND_TIMEOUT_S):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._to_browser, data):]
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("method") == "Runtime.exceptionThrown":
                details = reply["params"]["exceptionDetails"]
                self.exceptions.append(details.get("exception", {}).get("description") or details.get("text"))
            if reply.get("id") != self._next_id:
                continue  # an event, or the answer to an abandoned command
            if "error" in reply:
                raise DriverError(f"{method}: {reply['error'].get('message', reply['error'])}")
            return reply.get("result", {})

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DriverError("the browser did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], remaining)
            if ready:
                chunk = os.read(self._from_browser, 1 << 16)
                if not chunk:
                    raise DriverError("the browser closed its protocol pipe")
                self._buffer += chunk
        record, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(record)

    def close(self):
        try:
            self.command("Browser.close", timeout=BROWSER_EXIT_TIMEOUT_S)
        except (DriverError, OSError):
            pass
        try:
            self.process.wait(timeout=BROWSER_EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # The group is Chromium and the helpers it started: all ours.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)
        self._profile.cleanup()


def _fd_above(fd, minimum):
    return fcntl.fcntl(fd, fcntl.F_DUPFD, minimum)


class Page:
    """One tab, attached with a flat session."""

    def __init__(self, browser, window, color_scheme):
        self._browser = browser
        target = browser.command("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = browser.command("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.command("Page.enable")
        self.command("Runtime.enable")
        self.command("Emulation.setDeviceMetricsOverride",
                     {"width": window[0], "height": window[1], "deviceScaleFactor": 1, "mobile": False})
        if color_scheme:
            self.command("Emulation.setEmulatedMedia",
                         {"features": [{"name": "prefers-color-scheme", "value": color_scheme}]})

    def command(self, method, params=None):
        return self._browser.command(method, params, session=self._session)

    def evaluate(self, expression):
        """The expression's value, or None when it throws (the page may not be there yet)."""
        result = self.command("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            return None
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout):
        deadline = time.monotonic() + timeout
        while not self.evaluate(f"!!({expression})"):
            if time.monotonic() >= deadline:
                raise StepFailed(f"still false after {timeout:g} s: {expression}")
            time.sleep(POLL_INTERVAL_S)

    def dom(self):
        return self.evaluate(DOM_SCRIPT) or ""


class Step(argparse.Action):
    """Keeps every step option, in command-line order, in one list."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.steps.append((self.dest, values))


def parse_window(text):
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def run_steps(browser, page, steps, step_timeout):
    within = None
    for kind, value in steps:
        if browser.exceptions:
            raise StepFailed(f"the page threw: {browser.exceptions[0]}")
        if kind == "within":
            within = float(value)
        elif kind == "wait":
            page.wait_for(value, step_timeout if within is None else within)
            within = None
        elif kind == "exec":
            completed = subprocess.run(value, shell=True, stdout=sys.stderr, timeout=step_timeout, check=False)
            if completed.returncode != 0:
                raise StepFailed(f"exit status {completed.returncode}: {value}")
        elif kind == "reload":
            # The marker dies with the old document: its absence proves the new one is in place.
            page.evaluate("window.__headlessBeforeReload = true")
            page.command("Page.reload", {"ignoreCache": True})
            page.wait_for("document.readyState !== 'loading' && !window.__headlessBeforeReload", step_timeout)
        elif kind == "dump":
            with open(value, "w", encoding="utf-8") as out:
                out.write(page.dom() + "\n")
        elif kind == "screenshot":
            data = page.command("Page.captureScreenshot", {"format": "png"})["data"]
            with open(value, "wb") as out:
                out.write(base64.b64decode(data))
    if browser.exceptions:
        raise StepFailed(f"the page threw: {browser.exceptions[0]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.set_defaults(steps=[])
    parser.add_argument("url")
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--window", type=parse_window, default=(1200, 800), help="WIDTHxHEIGHT")
    parser.add_argument("--color-scheme", choices=("light", "dark"), help="emulate prefers-color-scheme")
    parser.add_argument("--step-timeout", type=float, default=15.0, help="seconds each step may take")
    parser.add_argument("--browser-log", default=os.devnull, help="where Chromium's own output goes")
    parser.add_argument("--wait", action=Step, metavar="JS")
    parser.add_argument("--within", action=Step, metavar="SECONDS")
    parser.add_argument("--exec", action=Step, metavar="CMD")
    parser.add_argument("--reload", action=Step, nargs=0)
    parser.add_argument("--dump", action=Step, metavar="FILE")
    parser.add_argument("--screenshot", action=Step, metavar="FILE")
    args = parser.parse_args()

    # `timeout` sends SIGTERM: turn it into an exception so the browser is still closed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    with open(args.browser_log, "ab") as log:
        try:
            browser = DevTools(args.chromium, args.window, log)
        except OSError as error:
            print(f"headless_browser: cannot start {args.chromium}: {error}", file=sys.stderr)
            return 2
        try:
            page = Page(browser, args.window, args.color_scheme)
            page.command("Page.navigate", {"url": args.url})
            run_steps(browser, page, args.steps, args.step_timeout)
            return 0
        except StepFailed as failure:
            print(f"headless_browser: step failed: {failure}", file=sys.stderr)
            try:
                print(page.dom(), file=sys.stderr)
            except DriverError:
                pass
            return 1
        except DriverError as error:
            print(f"headless_browser: {error}", file=sys.stderr)
            return 2
        finally:
            browser.close()


if __name__ == "__main__":
    sys.exit(main())
