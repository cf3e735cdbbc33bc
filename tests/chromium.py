"""Drive headless Chromium in tests: open a page, run script in it, click, press keys, take a
screenshot, and report what a reader would see go wrong (console errors, exceptions, failed
loads, requests to other hosts).

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages separated by NUL bytes on file descriptors 3 and 4), so nothing beyond the browser
itself is needed: no WebSocket client, no driver binary, no open port. Shared by the explain
report tests and the playground's browser test.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["find_chromium", "require_chromium", "open_page", "Browser", "MISSING"]

MISSING = ("Chromium is not installed (CI installs Debian's chromium: "
           "apt-get install chromium)")

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--no-first-run", "--remote-debugging-pipe"]

_IMAGES = ("JSON.stringify(Array.from(document.images).map(i => "
           "({alt: i.alt, complete: i.complete, width: i.naturalWidth})))")


def _high(fd: int) -> int:
    """The same pipe end on a descriptor above 4, so moving the ends onto 3 and 4 in the
    child cannot overwrite one with the other."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 5)
    os.close(fd)
    return high


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def require_chromium() -> str:
    """Chromium's path, or the calling test skipped with how to install it."""
    import pytest

    path = find_chromium()
    if path is None:
        pytest.skip(MISSING)
    return path


class _Pipe:
    def __init__(self, process: subprocess.Popen, write_fd: int, read_fd: int):
        self.process, self.write_fd, self.read_fd = process, write_fd, read_fd
        self.buffer = b""
        self.events: list[dict] = []
        self.next_id = 0

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        reply = self._until(lambda m: m.get("id") == self.next_id, timeout)
        if "error" in reply:
            raise RuntimeError(f"DevTools {method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, timeout: float = 30.0) -> dict:
        for event in self.events:
            if event.get("method") == method:
                return event
        return self._until(lambda m: m.get("method") == method, timeout)

    def _until(self, wanted, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if wanted(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"Chromium exited (code {self.process.poll()})")
                self.buffer += chunk


class Browser:
    """One headless Chromium with one tab, for a ``with`` block.

    Example (in a test)::

        with Browser(find_chromium()) as browser:
            browser.navigate("http://127.0.0.1:8000/")
            browser.wait_for("document.title !== ''")
            assert browser.problems()["exceptions"] == []
    """

    def __init__(self, chromium: str, timeout: float = 30.0, size: tuple[int, int] = (1280, 900)):
        self.chromium, self.timeout, self.size = chromium, timeout, size

    def __enter__(self) -> Browser:
        to_browser_read, to_browser_write = map(_high, os.pipe())
        from_browser_read, from_browser_write = map(_high, os.pipe())
        self._profile = tempfile.TemporaryDirectory()
        self._log = tempfile.TemporaryFile()

        def pipe_ends():  # in the child: the browser reads fd 3 and writes fd 4
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        # close_fds=False keeps 3 and 4 (dup2 makes them inheritable); every other descriptor
        # Python opened is close-on-exec already.
        self._process = subprocess.Popen(
            [self.chromium, *_FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            preexec_fn=pipe_ends, close_fds=False, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=self._log)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._pipe = _Pipe(self._process, to_browser_write, from_browser_read)
        try:
            target = self._pipe.send("Target.createTarget", {"url": "about:blank"},
                                     timeout=self.timeout)
            self._session = self._pipe.send(
                "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
            )["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable")
            width, height = self.size
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1,
                       "mobile": False})
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._pipe.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        os.close(self._pipe.write_fd)
        os.close(self._pipe.read_fd)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()
        self._profile.cleanup()

    def send(self, method: str, params: dict | None = None) -> dict:
        """A DevTools command in the tab; a failure shows the end of Chromium's output."""
        try:
            return self._pipe.send(method, params, session=self._session, timeout=self.timeout)
        except (RuntimeError, TimeoutError) as error:
            self._log.seek(0)
            raise RuntimeError(f"{error}; Chromium's output ends with:\n"
                               f"{self._log.read()[-2000:].decode(errors='replace')}") from error

    def navigate(self, url: str) -> None:
        """Open ``url`` and wait for its load event."""
        self.send("Page.navigate", {"url": url})
        self._pipe.wait_event("Page.loadEventFired", self.timeout)

    def evaluate(self, expression: str, await_promise: bool = False):
        """The value of a script expression in the page (JSON-like values)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": await_promise})
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float | None = None, interval: float = 0.05):
        """Evaluate ``expression`` until it is truthy; its value, or ``TimeoutError``."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout or self.timeout} s: {expression}")
            time.sleep(interval)

    def click(self, x: float, y: float) -> None:
        """A left mouse click at page coordinates (CSS pixels), as a reader would make it."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                   "button": "left", "clickCount": 1})

    def press(self, key: str, code: str | None = None, key_code: int = 0) -> None:
        """Press and release a key in the focused element (e.g. "Enter", code 13)."""
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": code or key,
                                                 "windowsVirtualKeyCode": key_code})

    def screenshot(self, path: str | os.PathLike) -> Path:
        """A PNG of the whole page (not only the viewport)."""
        metrics = self.send("Page.getLayoutMetrics")["cssContentSize"]
        data = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": metrics["width"], "height": metrics["height"],
                     "scale": 1}})["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path

    def problems(self, own: tuple[str, ...] = ("file:", "data:")) -> dict:
        """Console errors, uncaught exceptions, error log entries and requests to anything
        but the ``own`` URL prefixes, seen so far."""
        events = self._pipe.events
        return {
            "console_errors": [e["params"] for e in events
                               if e["method"] == "Runtime.consoleAPICalled"
                               and e["params"].get("type") in ("error", "assert")],
            "exceptions": [e["params"] for e in events
                           if e["method"] == "Runtime.exceptionThrown"],
            "log_errors": [e["params"]["entry"] for e in events
                           if e["method"] == "Log.entryAdded"
                           and e["params"]["entry"].get("level") == "error"],
            "requests": [e["params"]["request"]["url"] for e in events
                         if e["method"] == "Network.requestWillBeSent"
                         and not e["params"]["request"]["url"].startswith(own)],
        }


def open_page(path: str | os.PathLike, chromium: str, timeout: float = 30.0) -> dict:
    """Load a local file and return its title, its images' load state and ``problems()``."""
    with Browser(chromium, timeout) as browser:
        browser.navigate(Path(path).resolve().as_uri())
        images = json.loads(browser.evaluate(_IMAGES))
        return {"title": browser.evaluate("document.title"), "images": images,
                **browser.problems()}
