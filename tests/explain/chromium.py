"""Open a page in headless Chromium and report what a reader would see go wrong.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages separated by NUL bytes on file descriptors 3 and 4), so nothing beyond the browser
itself is needed: no WebSocket client, no driver binary, no open port.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["find_chromium", "open_page"]

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


def open_page(path: str | os.PathLike, chromium: str, timeout: float = 30.0) -> dict:
    """Load a local file and return its console errors, uncaught exceptions, requests that
    left the file (anything but ``file:`` and ``data:`` URLs) and its images' load state."""
    to_browser_read, to_browser_write = map(_high, os.pipe())
    from_browser_read, from_browser_write = map(_high, os.pipe())
    with tempfile.TemporaryDirectory() as profile, \
            tempfile.TemporaryFile() as log:
        def pipe_ends():  # in the child: the browser reads fd 3 and writes fd 4
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        # close_fds=False keeps 3 and 4 (dup2 makes them inheritable); every other descriptor
        # Python opened is close-on-exec already.
        process = subprocess.Popen(
            [chromium, *_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=pipe_ends, close_fds=False, stdin=subprocess.DEVNULL, stdout=log,
            stderr=log)
        os.close(to_browser_read)
        os.close(from_browser_write)
        pipe = _Pipe(process, to_browser_write, from_browser_read)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"}, timeout=timeout)
            session = pipe.send("Target.attachToTarget",
                                {"targetId": target["targetId"], "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=session)
            pipe.wait_event("Page.loadEventFired", timeout)
            images = json.loads(pipe.send("Runtime.evaluate", {
                "expression": _IMAGES, "returnByValue": True}, session=session)["result"]["value"])
            title = pipe.send("Runtime.evaluate", {"expression": "document.title",
                                                   "returnByValue": True},
                              session=session)["result"]["value"]
            try:
                pipe.send("Browser.close", timeout=5)
            except (RuntimeError, TimeoutError):
                pass
        except (RuntimeError, TimeoutError) as error:
            log.seek(0)
            raise RuntimeError(f"{error}; Chromium's output ends with:\n"
                               f"{log.read()[-2000:].decode(errors='replace')}") from error
        finally:
            os.close(to_browser_write)
            os.close(from_browser_read)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    events = pipe.events
    return {
        "title": title,
        "images": images,
        "console_errors": [e["params"] for e in events
                           if e["method"] == "Runtime.consoleAPICalled"
                           and e["params"].get("type") in ("error", "assert")],
        "exceptions": [e["params"] for e in events if e["method"] == "Runtime.exceptionThrown"],
        "log_errors": [e["params"]["entry"] for e in events if e["method"] == "Log.entryAdded"
                       and e["params"]["entry"].get("level") == "error"],
        "requests": [e["params"]["request"]["url"] for e in events
                     if e["method"] == "Network.requestWillBeSent"
                     and not e["params"]["request"]["url"].startswith(("file:", "data:"))],
    }
