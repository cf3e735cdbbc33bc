"""The playground's speed: server time per training step and per frame, and the frame rate a
page receives while the default network trains.

1. Server work, timed alternately in one run (see ``_common``): one training step of the
   default network (circles, 2-4-4-1 tanh, J = 1/(2m) Σ (h − y)², Adam, batch 16: forward,
   backward, update and the per-layer gradient norms) and one frame (losses on the whole
   training and test sets, the 48 × 48 decision boundary and every neuron's 24 × 24 map, the
   weights), plus what the event stream does per frame while playing (``advance`` for half the
   frame interval, then ``frame``).
2. The frame rate: a server on a free port, one session playing, its event stream read for
   ``--seconds`` by a plain HTTP client (and, with ``--browser``, by the real page in headless
   Chromium, counting the frames its EventSource delivers); frames per second, steps per
   second and bytes per frame.

Usage:
    python benchmarks/playground.py [--samples 20] [--seconds 5] [--browser]
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from pathlib import Path

from _common import alternate, machine, summary

from chainrule.playground.config import Config
from chainrule.playground.server import PlaygroundServer
from chainrule.playground.session import Session

__all__ = ["main"]


def _post(server, path: str, body: dict) -> dict:
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return answer


def _client_rate(server, seconds: float) -> dict:
    """Frames, steps and bytes an HTTP client receives from a playing session's stream."""
    session = _post(server, "/api/session", {})["session"]
    host, port = server.server_address[:2]
    stream = http.client.HTTPConnection(host, port, timeout=10)
    stream.request("GET", f"/api/events?session={session}")
    response = stream.getresponse()
    _post(server, "/api/play", {"session": session, "playing": True})
    frames, received, steps, start = 0, 0, [], None
    while start is None or time.perf_counter() - start < seconds:
        line = response.fp.readline()
        received += len(line)
        if line.startswith(b"data: ") and b'"playing":true' in line:
            if start is None:  # count from the first frame of play
                start, received = time.perf_counter(), 0
            frames += 1
            steps.append(json.loads(line[6:])["step"])
    elapsed = time.perf_counter() - start
    _post(server, "/api/play", {"session": session, "playing": False})
    stream.close()
    return {"frames/s": (frames - 1) / elapsed, "steps/s": (steps[-1] - steps[0]) / elapsed,
            "KB/frame": received / frames / 1024}


def _browser_rate(server, seconds: float) -> dict:
    """Frames per second the page's EventSource delivers in headless Chromium (drawing them)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from chromium import Browser, find_chromium

    chromium = find_chromium()
    if chromium is None:
        return {"skipped": "no Chromium"}
    with Browser(chromium) as browser:
        browser.navigate(server.url)
        browser.wait_for("state.setup && state.frame")
        browser.evaluate("window.frames_seen = []; state.events.addEventListener('frame', "
                         "e => frames_seen.push([performance.now(), JSON.parse(e.data).step]))")
        browser.evaluate("document.getElementById('play').click()")
        time.sleep(seconds)
        seen = browser.evaluate("frames_seen")
        browser.evaluate("document.getElementById('play').click()")
    (t0, s0), (t1, s1) = seen[1], seen[-1]
    return {"frames/s": (len(seen) - 2) / ((t1 - t0) / 1000),
            "steps/s": (s1 - s0) / ((t1 - t0) / 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--browser", action="store_true", help="also measure in Chromium")
    args = parser.parse_args()
    print(machine())

    session = Session(Config())
    interval = 1 / 20
    results = alternate({
        "train step": session._step,
        "frame": lambda: session.frame(len(session.history)),
        "stream frame": lambda: (session.advance(100, seconds=interval / 2),
                                 session.frame(len(session.history))),
    }, steps=20, samples=args.samples, warmup=5, pause=0.05)
    print("\nserver time, µs (default network: circles, 2-4-4-1 tanh, MSE/2, Adam, batch 16)")
    print(summary(results))
    frame = session.frame(len(session.history) - 1)
    print(f"frame payload: {len(json.dumps(frame)) / 1024:.1f} KB")

    server = PlaygroundServer(port=0)
    server.start()
    try:
        rate = _client_rate(server, args.seconds)
        print(f"\nHTTP client, {args.seconds:g} s of play: " +
              ", ".join(f"{key} {value:.1f}" for key, value in rate.items()))
        if args.browser:
            rate = _browser_rate(server, args.seconds)
            print(f"Chromium page, {args.seconds:g} s of play: " +
                  ", ".join(f"{key} {value:.1f}" if isinstance(value, float) else
                            f"{key} {value}" for key, value in rate.items()))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
