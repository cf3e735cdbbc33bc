"""The playground's web server: one page, a small JSON API and a stream of server-sent events.

Standard library only (``ThreadingHTTPServer``: a thread per request, one of them per open
event stream). The training runs here, in the thread of the session's event stream: while the
page plays, that thread trains for part of each frame interval, then sends a frame.

Routes (``session`` is the id ``POST /api/session`` returned; POST bodies are JSON):

    GET  /, /app.js, /style.css    the page (shipped in the package: it works offline)
    POST /api/session              {config?} → {session, config, limits}: a new network
    GET  /api/events?session=ID    the event stream: "setup" once per network, then "frame"s
    POST /api/config               {session, config, reset?} → {reset}: new settings (and
                                   with reset, or where the network changes, new weights)
    POST /api/play                 {session, playing}
    POST /api/step                 {session, steps?} → {step, loss}
    POST /api/explain              {session, layer, parameter, index} → one weight's chain rule
    GET  /api/snapshot?session=ID  the last step's batch and weights (for checking the numbers)
    POST /api/compare              {session} → deep sigmoid vs ReLU gradient flow

Safety: the server binds 127.0.0.1 by default and answers only requests whose ``Host`` names
it (a DNS-rebinding page's requests carry its own host name) and whose ``Origin``, when sent,
is its own; POSTs must be ``application/json`` (a form on another site cannot send that
without a preflight, which is refused). Networks, data sets, batches, request bodies and the
number of sessions are capped (``config.LIMITS``, ``SessionStore``).
"""

from __future__ import annotations

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from .compare import gradient_flow
from .config import LIMITS, Config, ConfigError
from .session import NoStepYet
from .store import SessionStore, StoreFull

__all__ = ["PlaygroundServer", "MAX_BODY", "MAX_STEPS"]

MAX_BODY = 16 * 1024  # bytes of a request body
MAX_STEPS = 100  # steps of one /api/step request
_PING_SECONDS = 15.0  # an idle stream sends a comment this often, so a closed tab is noticed
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
           "/app.js": ("app.js", "text/javascript; charset=utf-8"),
           "/style.css": ("style.css", "text/css; charset=utf-8")}
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    # Everything comes from this server; the heat maps are data: URLs the page draws.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'",
}


class _RequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _finite(value):
    """JSON without NaN or infinity (``JSON.parse`` rejects them): such numbers become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


class PlaygroundServer(ThreadingHTTPServer):
    """The playground on ``host:port`` (port 0 picks a free one; ``url`` says which).

    Args:
        host: address to bind (127.0.0.1: only this machine can connect).
        port: TCP port, 0 for any free one.
        max_sessions, idle_seconds: see ``SessionStore``.
        fps: frames per second a playing session's stream aims for.

    Example:
        >>> from chainrule.playground.server import PlaygroundServer
        >>> server = PlaygroundServer(port=0)
        >>> thread = server.start()
        >>> server.url.startswith("http://127.0.0.1:")
        True
        >>> server.stop()
    """

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 8000, max_sessions: int = 8,
                 idle_seconds: float = 300.0, fps: float = 20.0):
        super().__init__((host, port), _Handler)
        self.sessions = SessionStore(max_sessions, idle_seconds)
        self.frame_seconds = 1.0 / fps
        self.stopping = threading.Event()
        self.comparing = threading.Semaphore(1)  # one comparison at a time: it trains 2 nets
        port = self.server_address[1]
        names = {host, *_LOOPBACK} if host in _LOOPBACK else {host}
        self.hosts = {f"{name}:{port}" for name in names}
        self.origins = {f"http://{name}" for name in self.hosts}
        folder = resources.files(__package__) / "static"
        self.files = {path: (folder.joinpath(name).read_bytes(), kind)
                      for path, (name, kind) in _STATIC.items()}

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}/"

    def start(self) -> threading.Thread:
        """Serve in a background thread (tests, notebooks); ``stop`` ends it."""
        # A short poll interval: stop() returns within 50 ms, not the default 0.5 s.
        thread = threading.Thread(target=self.serve_forever, args=(0.05,),
                                  name="chainrule-playground", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """End every event stream, stop serving and close the socket."""
        self.stopping.set()
        for session in self.sessions.all():
            with session.lock:
                session.changed.notify_all()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: PlaygroundServer
    server_version = "chainrule-playground"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # the command prints its URL; per-request lines would bury it

    # ------------------------------------------------------------------ dispatch
    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_OPTIONS(self):  # a cross-origin preflight: refused
        self._send_json(405, {"error": "method not allowed"})

    def _dispatch(self, method: str) -> None:
        try:
            self._check_origin()
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            if method == "GET" and url.path in _STATIC:
                return self._send(200, *self.server.files[url.path])
            route = _ROUTES.get((method, url.path))
            if route is None:
                raise _RequestError(404, f"no such page or API: {method} {url.path}")
            body = self._json_body() if method == "POST" else query
            route(self, body)
        except _RequestError as error:
            self._send_json(error.status, {"error": str(error)})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away mid-answer

    def _check_origin(self) -> None:
        host = self.headers.get("Host", "")
        if host not in self.server.hosts:
            raise _RequestError(403, f"this server answers only requests for "
                                     f"{sorted(self.server.hosts)[0]}, not Host {host!r}")
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.origins:
            raise _RequestError(403, f"requests from other origins are refused ({origin})")

    def _json_body(self) -> dict:
        if self.headers.get_content_type() != "application/json":
            raise _RequestError(415, "POST bodies must be application/json")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise _RequestError(411, "a POST needs a Content-Length") from None
        if not 0 <= length <= MAX_BODY:
            raise _RequestError(413, f"request bodies are limited to {MAX_BODY} bytes")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise _RequestError(400, f"the body is not JSON: {error}") from None
        if not isinstance(body, dict):
            raise _RequestError(400, "the body must be a JSON object")
        return body

    # ------------------------------------------------------------------ answers
    def _send(self, status: int, payload: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in _HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, status: int, data) -> None:
        payload = json.dumps(_finite(data), allow_nan=False, ensure_ascii=False).encode()
        self._send(status, payload, "application/json; charset=utf-8")

    def _session(self, body: dict):
        try:
            return self.server.sessions.get(body.get("session"))
        except KeyError:
            raise _RequestError(404, "no such session (it may have expired): reload the "
                                     "page") from None

    # ------------------------------------------------------------------ routes
    def _create(self, body: dict) -> None:
        try:
            config = Config.from_json(body.get("config", {}))
            key, session = self.server.sessions.create(config)
        except ConfigError as error:
            raise _RequestError(400, str(error)) from None
        except StoreFull as error:
            raise _RequestError(503, str(error)) from None
        self._send_json(200, {"session": key, "config": session.config.to_json(),
                              "limits": LIMITS})

    def _configure(self, body: dict) -> None:
        session = self._session(body)
        try:
            config = Config.from_json(body.get("config", {}))
        except ConfigError as error:
            raise _RequestError(400, str(error)) from None
        if body.get("reset"):  # new weights even where the settings are the same
            session.reset(config)
            return self._send_json(200, {"reset": True})
        self._send_json(200, {"reset": session.configure(config)})

    def _play(self, body: dict) -> None:
        session = self._session(body)
        session.play(bool(body.get("playing")))
        self._send_json(200, {"playing": session.playing})

    def _step(self, body: dict) -> None:
        session = self._session(body)
        steps = body.get("steps", 1)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
            raise _RequestError(400, f"steps must be an integer from 1 to {MAX_STEPS}")
        session.advance(steps)
        with session.lock:
            self._send_json(200, {"step": session.steps, "loss": session.history[-1]["train"]})

    def _explain(self, body: dict) -> None:
        session = self._session(body)
        layer, parameter, index = body.get("layer"), body.get("parameter"), body.get("index")
        if not (isinstance(layer, int) and 1 <= layer <= len(session.linears)
                and parameter in ("W", "b") and isinstance(index, list)
                and all(isinstance(i, int) and not isinstance(i, bool) for i in index)):
            raise _RequestError(400, "explain takes layer (from 1), parameter ('W' or 'b') "
                                     "and index (a list of integers)")
        try:
            self._send_json(200, session.explain(layer, parameter, tuple(index)))
        except NoStepYet as error:
            raise _RequestError(409, str(error)) from None
        except ValueError as error:
            raise _RequestError(400, str(error)) from None

    def _snapshot(self, query: dict) -> None:
        try:
            self._send_json(200, self._session(query).snapshot())
        except NoStepYet as error:
            raise _RequestError(409, str(error)) from None

    def _compare(self, body: dict) -> None:
        session = self._session(body)
        if not self.server.comparing.acquire(blocking=False):
            raise _RequestError(503, "a comparison is running; try again in a moment")
        try:
            with session.lock:
                config, data = session.config, session.data
            self._send_json(200, gradient_flow(config, data))
        finally:
            self.server.comparing.release()

    def _events(self, query: dict) -> None:
        """The event stream: a "setup" event per network, a "frame" per change (per frame
        interval while playing), a comment every ``_PING_SECONDS`` while nothing changes."""
        session = self._session(query)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        for name, value in _HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        token = object()
        with session.lock:
            session.stream, session.streams = token, session.streams + 1
            session.changed.notify_all()  # an older stream of this session ends now
        try:
            self._stream(session, token)
        finally:
            with session.lock:
                session.streams -= 1
            session.touch()

    def _stream(self, session, token) -> None:
        server, interval = self.server, self.server.frame_seconds
        generation = history_version = version = None
        sent = 0  # history points the page has
        while not server.stopping.is_set() and session.stream is token:
            started = time.perf_counter()
            if session.playing:
                session.advance(MAX_STEPS, seconds=interval / 2)
            events = []
            with session.lock:  # what to send is taken under the lock, sent outside it
                if session.version == version and not session.changed.wait(_PING_SECONDS):
                    events.append(b": ping\n\n")
                elif session.stream is token:  # else the page opened a new stream
                    if session.generation != generation:
                        events.append(self._event("setup", session.setup()))
                        generation, sent = session.generation, 0
                    if session.history_version != history_version:
                        history_version, sent = session.history_version, 0
                    events.append(self._event("frame", session.frame(sent)))
                    version, sent = session.version, len(session.history)
            for event in events:
                self.wfile.write(event)
            self.wfile.flush()
            if session.playing:
                time.sleep(max(0.0, interval - (time.perf_counter() - started)))

    @staticmethod
    def _event(name: str, data: dict) -> bytes:
        payload = json.dumps(_finite(data), allow_nan=False, ensure_ascii=False,
                             separators=(",", ":"))
        return f"event: {name}\ndata: {payload}\n\n".encode()


_ROUTES = {
    ("POST", "/api/session"): _Handler._create,
    ("GET", "/api/events"): _Handler._events,
    ("POST", "/api/config"): _Handler._configure,
    ("POST", "/api/play"): _Handler._play,
    ("POST", "/api/step"): _Handler._step,
    ("POST", "/api/explain"): _Handler._explain,
    ("GET", "/api/snapshot"): _Handler._snapshot,
    ("POST", "/api/compare"): _Handler._compare,
}
