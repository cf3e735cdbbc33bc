"""The playground server on a free port: its JSON API, its event stream, what it refuses."""

import http.client
import json

import pytest

from chainrule.playground.config import LIMITS
from chainrule.playground.server import MAX_BODY, PlaygroundServer


@pytest.fixture
def server():
    server = PlaygroundServer(port=0, max_sessions=3)
    server.start()
    yield server
    server.stop()


def _request(server, method, path, body=None, headers=None, raw=None):
    """(status, decoded JSON or text) of one request with the page's headers."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    sent = {"Content-Type": "application/json"} if body is not None or raw is not None else {}
    sent.update(headers or {})
    payload = raw if raw is not None else None if body is None else json.dumps(body)
    connection.request(method, path, body=payload, headers=sent)
    response = connection.getresponse()
    data = response.read().decode()
    connection.close()
    kind = response.getheader("Content-Type", "")
    return response.status, json.loads(data) if kind.startswith("application/json") else data


def _session(server, **config):
    status, answer = _request(server, "POST", "/api/session", {"config": config})
    assert status == 200, answer
    return answer["session"]


class _Stream:
    """The event stream of a session, read event by event."""

    def __init__(self, server, session):
        host, port = server.server_address[:2]
        self.connection = http.client.HTTPConnection(host, port, timeout=10)
        self.connection.request("GET", f"/api/events?session={session}")
        self.response = self.connection.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type") == "text/event-stream"

    def next(self):
        """(name, data) of the next event, skipping keep-alive comments."""
        name, data = None, None
        while True:
            line = self.response.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: "):])
            elif line == "" and name is not None:
                return name, data

    def close(self):
        self.connection.close()


def test_the_page_and_its_files_are_served(server):
    status, page = _request(server, "GET", "/")
    assert status == 200 and "<title>" in page and 'src="app.js"' in page
    for path in ("/app.js", "/style.css"):
        status, text = _request(server, "GET", path)
        assert status == 200 and text
    status, answer = _request(server, "GET", "/etc/passwd")
    assert status == 404 and "no such page" in answer["error"]
    assert server.url.startswith("http://127.0.0.1:")


def test_a_session_streams_trains_and_explains(server):
    session = _session(server, dataset="xor", hidden=[3])
    stream = _Stream(server, session)
    name, setup = stream.next()
    assert name == "setup" and setup["sizes"] == [2, 3, 1] and len(setup["points"]) == 400
    name, frame = stream.next()
    assert name == "frame" and frame["step"] == 0 and len(frame["history"]) == 1

    status, answer = _request(server, "POST", "/api/explain",
                              {"session": session, "layer": 1, "parameter": "W",
                               "index": [0, 0]})
    assert status == 409 and "has not taken a step" in answer["error"]
    status, answer = _request(server, "POST", "/api/step", {"session": session, "steps": 5})
    assert status == 200 and answer["step"] == 5
    name, frame = stream.next()
    assert frame["step"] == 5 and frame["since"] == 1 and len(frame["history"]) == 1

    status, answer = _request(server, "POST", "/api/explain",
                              {"session": session, "layer": 2, "parameter": "W",
                               "index": [0, 1]})
    assert status == 200 and answer["check"]["ok"] and answer["step"] == 5
    assert answer["path"]["links"][0]["symbol"] == "∂J/∂h₁"
    status, snapshot = _request(server, "GET", f"/api/snapshot?session={session}")
    assert status == 200 and len(snapshot["x"]) == 16 and "2.weight" in snapshot["parameters"]

    _request(server, "POST", "/api/play", {"session": session, "playing": True})
    steps = [stream.next()[1]["step"] for _ in range(3)]
    assert steps[2] > steps[1] > 5  # it trains between frames
    _request(server, "POST", "/api/play", {"session": session, "playing": False})
    while stream.next()[1]["playing"]:
        pass
    stream.close()


def test_a_new_network_sends_a_new_setup(server):
    session = _session(server)
    stream = _Stream(server, session)
    assert stream.next()[0] == "setup" and stream.next()[0] == "frame"
    status, answer = _request(server, "POST", "/api/config",
                              {"session": session, "config": {"lr": 0.1}})
    assert status == 200 and answer == {"reset": False}
    assert stream.next()[0] == "frame"
    status, answer = _request(server, "POST", "/api/config",
                              {"session": session, "config": {"dataset": "spirals"}})
    assert answer == {"reset": True}
    name, setup = stream.next()
    assert name == "setup" and setup["config"]["dataset"] == "spirals"
    stream.close()


def test_two_sessions_are_independent(server):
    first, second = _session(server, seed=1), _session(server, seed=1)
    assert first != second
    _request(server, "POST", "/api/step", {"session": first, "steps": 3})
    status, answer = _request(server, "GET", f"/api/snapshot?session={second}")
    assert status == 409  # the second has not moved
    _request(server, "POST", "/api/step", {"session": second, "steps": 1})
    one = _request(server, "GET", f"/api/snapshot?session={first}")[1]
    two = _request(server, "GET", f"/api/snapshot?session={second}")[1]
    assert one["step"] == 3 and two["step"] == 1 and one["x"] != two["x"]


def test_other_origins_and_hosts_are_refused(server):
    port = server.server_address[1]
    status, answer = _request(server, "POST", "/api/session", {},
                              headers={"Origin": "http://evil.example"})
    assert status == 403 and "other origins" in answer["error"]
    # DNS rebinding: the attacker's name resolves to 127.0.0.1, the Host header still says it.
    status, answer = _request(server, "GET", "/", headers={"Host": f"evil.example:{port}"})
    assert status == 403 and "Host" in answer["error"]
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        assert _request(server, "POST", "/api/session", {}, headers={"Origin": origin})[0] == 200
    status, _ = _request(server, "OPTIONS", "/api/session")
    assert status == 405
    # A form post from another page cannot be JSON.
    status, answer = _request(server, "POST", "/api/session", raw="config=1",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415


def test_sizes_are_limited(server):
    for config, message in (({"hidden": [LIMITS["width"] + 1]}, "hidden layer width"),
                            ({"hidden": [2] * (LIMITS["hidden_layers"] + 1)}, "at most 6"),
                            ({"batch_size": 100_000}, "batch_size"),
                            ({"points": 10**6}, "points")):
        status, answer = _request(server, "POST", "/api/session", {"config": config})
        assert status == 400 and message in answer["error"]
    status, answer = _request(server, "POST", "/api/session", raw="x" * (MAX_BODY + 1))
    assert status == 413
    session = _session(server)
    status, answer = _request(server, "POST", "/api/step", {"session": session, "steps": 10**6})
    assert status == 400 and "steps must be an integer from 1 to 100" in answer["error"]
    status, answer = _request(server, "POST", "/api/explain",
                              {"session": session, "layer": 9, "parameter": "W", "index": [0]})
    assert status == 400
    _session(server), _session(server)
    status, answer = _request(server, "POST", "/api/session", {})
    assert status == 503 and "all 3 playground sessions are in use" in answer["error"]


def test_idle_sessions_expire(server):
    server.sessions.idle_seconds = 0.0
    session = _session(server)
    _session(server)  # creating a session drops the idle ones
    status, answer = _request(server, "POST", "/api/step", {"session": session})
    assert status == 404 and "expired" in answer["error"]


def test_bad_bodies_and_unknown_sessions(server):
    assert _request(server, "POST", "/api/step", raw="{not json")[0] == 400
    assert _request(server, "POST", "/api/step", raw="[1]")[0] == 400
    status, answer = _request(server, "POST", "/api/play", {"session": "nope"})
    assert status == 404 and "no such session" in answer["error"]
    assert _request(server, "GET", "/api/events?session=nope")[0] == 404


def test_the_deep_sigmoid_gradient_vanishes_and_the_relu_one_does_not(server):
    session = _session(server, dataset="circles", batch_size=32)
    status, flow = _request(server, "POST", "/api/compare", {"session": session})
    assert status == 200 and flow["depth"] == LIMITS["hidden_layers"]
    ratio = {}
    for activation, run in flow["runs"].items():
        first, last = run["grad_norm"][0][0], run["grad_norm"][-1][0]
        ratio[activation] = first / last  # input layer vs output layer, first epoch
    assert ratio["sigmoid"] < 1e-3 and ratio["relu"] > 0.05
