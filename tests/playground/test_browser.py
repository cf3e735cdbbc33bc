"""The playground in real headless Chromium: the page trains XOR, a click on a weight shows
its chain rule with the numbers ``cr.explain`` gives for the same weights and batch, neurons
answer the keyboard, nothing goes to the console, and a screenshot is kept.

The screenshot goes to ``$CHAINRULE_ARTIFACTS/playground.png`` (CI keeps that folder; the
README's ``docs/playground.png`` is made with ``CHAINRULE_ARTIFACTS=docs``), else to the
test's temporary folder.
"""

import http.client
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from chromium import Browser, require_chromium

import chainrule as cr
from chainrule.playground.config import Config
from chainrule.playground.network import build_loss, build_model
from chainrule.playground.server import PlaygroundServer

LOSS_BAR = 0.02  # J = 1/(2m) Σ (h − y)² starts near 0.13 on XOR; below this the quadrants show

_POINT_ON = """(label => {
  const node = [...document.querySelectorAll('#network [aria-label]')]
    .find(e => e.getAttribute('aria-label').startsWith(label));
  node.scrollIntoView({block: 'center'});
  const matrix = node.getScreenCTM();
  const box = node.getBBox();
  const points = node.getTotalLength
    ? [0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6].map(f => node.getPointAtLength(node.getTotalLength() * f))
    : [{x: box.x + box.width / 2, y: box.y + box.height / 2}];
  for (const p of points) {
    const x = matrix.a * p.x + matrix.c * p.y + matrix.e;
    const y = matrix.b * p.x + matrix.d * p.y + matrix.f;
    const hit = document.elementFromPoint(x, y);
    if (hit === node || node.contains(hit)) return [x, y];
  }
  return null;
})"""

_PANEL_SHOWS = "(document.querySelector('#chain h3') || {{}}).textContent?.includes('{}')"
_PANEL = """JSON.stringify({
  title: document.querySelector('#chain h3').textContent,
  values: Object.fromEntries([...document.querySelectorAll('#chain [data-value]')]
    .map(e => [e.dataset.name, [e.dataset.value, e.textContent]])),
  rows: [...document.querySelectorAll('#chain tr')].map(r => [...r.cells].map(c => c.textContent)),
  check: document.querySelector('#chain [data-name=check]').textContent,
  update: document.querySelector('#chain [data-name=update]').textContent,
})"""


@pytest.fixture(scope="module")
def chromium():
    return require_chromium()


@pytest.fixture
def artifacts(tmp_path):
    folder = os.environ.get("CHAINRULE_ARTIFACTS")
    if not folder:
        return tmp_path
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


@pytest.fixture
def server():
    server = PlaygroundServer(port=0)
    server.start()
    yield server
    server.stop()


def _click(browser, selector):
    x, y = browser.evaluate(f"""(() => {{
        const node = document.querySelector({json.dumps(selector)});
        node.scrollIntoView({{block: 'center'}});
        const box = node.getBoundingClientRect();
        return [box.x + box.width / 2, box.y + box.height / 2];
    }})()""")
    browser.click(x, y)


def _train_loss(browser) -> float:
    text = browser.evaluate("document.getElementById('loss-text').textContent")
    match = re.search(r"train ([-\d.e]+)", text or "")
    return float(match.group(1)) if match else float("inf")


def _snapshot(server, session):
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", f"/api/snapshot?session={session}")
    snapshot = json.loads(connection.getresponse().read())
    connection.close()
    return snapshot


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def test_train_xor_click_a_weight_and_check_its_chain_rule(server, chromium, artifacts):
    with Browser(chromium) as browser:
        browser.navigate(server.url)
        browser.wait_for("document.querySelectorAll('#network .node').length > 0", timeout=15)
        browser.evaluate("""(() => { const form = document.getElementById('settings').elements;
            form.dataset.value = 'xor'; form.hidden.value = '4,4'; })()""")
        _click(browser, "#apply")
        browser.wait_for("state.setup && state.setup.config.dataset === 'xor'")
        first = _train_loss(browser)

        _click(browser, "#play")
        browser.wait_for("document.getElementById('play').getAttribute('aria-pressed') === 'true'")
        crossed = browser.wait_for(
            f"(loss => loss < {LOSS_BAR} && loss)(Number((/train ([-\\d.e]+)/.exec("
            "document.getElementById('loss-text').textContent) || [0, 1])[1]))", timeout=60)
        assert crossed < LOSS_BAR < first
        _click(browser, "#play")
        browser.wait_for("document.getElementById('status').textContent.includes('paused')")

        # The keyboard: a neuron takes focus and answers Enter with its bias's chain rule.
        browser.evaluate("document.querySelector('#network [aria-label^=\"neuron 1 of layer "
                         "1\"]').focus()")
        assert browser.evaluate("document.activeElement.getAttribute('aria-label')") \
            .startswith("neuron 1 of layer 1")
        browser.press("Enter", key_code=13)
        browser.wait_for(_PANEL_SHOWS.format("b[1]₁"))
        assert json.loads(browser.evaluate(_PANEL))["check"].endswith("agrees")

        # The vanishing gradient, side by side: two strips with their captions.
        _click(browser, "#compare")
        captions = browser.wait_for("(() => { const c = [...document.querySelectorAll("
                                    "'#comparison figcaption')].map(f => f.textContent); "
                                    "return c.length === 2 && c; })()", timeout=30)
        assert "sigmoid" in captions[0] and "relu" in captions[1]

        # Click the weight from x₁ into neuron 2 of layer 1, W[1]₂,₁: the whole chain.
        point = browser.evaluate(f"{_POINT_ON}('weight W[1]₂,₁')")
        assert point is not None, "no visible point on the edge to click"
        browser.click(*point)
        browser.wait_for(_PANEL_SHOWS.format("W[1]₂,₁"))
        panel = json.loads(browser.evaluate(_PANEL))

        # The same numbers from cr.explain on the step's weights and batch.
        snapshot = _snapshot(server, browser.evaluate("state.session"))
        assert f"in step {snapshot['step']} " in panel["title"]
        config = Config.from_json(snapshot["config"])
        model = build_model(config, 2, 2)
        model.load_state_dict({name: np.asarray(value, np.float32)
                               for name, value in snapshot["parameters"].items()})
        x = np.asarray(snapshot["x"], np.float32)
        y = np.asarray(snapshot["y"], np.float32)
        explanation = cr.explain(model, x, y, loss=build_loss(config))
        assert explanation.verified
        terms = {q.symbol: np.asarray(q.value, np.float64)
                 for view in explanation.layers for q in view.backward + view.forward}
        expected = terms["∂J/∂W[1]"][1, 0]
        backward, shown = panel["values"]["backward"]
        assert float(backward) == pytest.approx(expected, rel=1e-6, abs=1e-12)
        assert _number(shown) == pytest.approx(expected, rel=1e-5, abs=1e-10)
        numerical = float(panel["values"]["numerical"][0])
        assert numerical == pytest.approx(expected, rel=1e-3, abs=1e-8)
        assert "agrees" in panel["check"]
        assert float(panel["values"]["gradient"][0]) == pytest.approx(expected, rel=1e-5,
                                                                      abs=1e-10)
        # Per sample: ∂J/∂z[1]₂ and x₁ = a[0]₁ as the table shows them (4 significant digits).
        rows = {row[0]: row for row in panel["rows"]}
        shown = len(panel["rows"][0]) - 4  # term, formula, samples, "… more", ✓
        per_sample = {"∂J/∂z[1]₂": terms["∂J/∂z[1]"][:, 1],
                      "∂J/∂a[1]₂": terms["∂J/∂a[1]"][:, 1],
                      "∂z[1]₂/∂W[1]₂,₁": x[:, 0],
                      "product": terms["∂J/∂z[1]"][:, 1] * x[:, 0]}
        for symbol, values in per_sample.items():
            cells = rows[symbol][2:2 + shown]
            np.testing.assert_allclose([_number(c) for c in cells], values[:shown], rtol=1e-3,
                                       atol=1e-9, err_msg=symbol)
        assert "W[1]₂,₁ ← W[1]₂,₁ − η m̂ / (√v̂ + ε)" in panel["update"]

        browser.screenshot(artifacts / "playground.png")
        problems = browser.problems(own=(server.url, "data:"))
    assert problems == {"console_errors": [], "exceptions": [], "log_errors": [],
                        "requests": []}


_SETTINGS = [
    {"dataset": "digits", "hidden": "6", "loss": "cross_entropy", "optimizer": "sgd", "lr": "0.5"},
    {"dataset": "spirals", "hidden": "8,8,8", "activation": "relu", "weight_decay": "0.001"},
    {"dataset": "blobs", "hidden": "3", "activation": "sigmoid", "loss": "cross_entropy"},
]


def test_every_data_set_and_setting_draws_without_errors(server, chromium):
    with Browser(chromium) as browser:
        browser.navigate(server.url)
        browser.wait_for("document.querySelectorAll('#network .node').length > 0", timeout=15)
        for settings in _SETTINGS:
            browser.evaluate(f"""(settings => {{
                const form = document.getElementById('settings').elements;
                for (const [name, value] of Object.entries(settings)) form[name].value = value;
            }})({json.dumps(settings)})""")
            _click(browser, "#apply")
            browser.wait_for(f"state.setup && state.setup.config.dataset === "
                             f"'{settings['dataset']}' && state.frame.step === 0")
            for _ in range(3):
                _click(browser, "#step")
            browser.wait_for("document.getElementById('status').textContent"
                             ".startsWith('step 3 ')")
            browser.click(*browser.evaluate(f"{_POINT_ON}('neuron 1 of layer 1')"))
            browser.wait_for(_PANEL_SHOWS.format("b[1]₁") + " && document.querySelector("
                             "'#chain h3').textContent.includes('step 3 ')")
            assert json.loads(browser.evaluate(_PANEL))["check"].endswith("agrees"), settings
        # A width over the limit is refused on the page, before any request.
        browser.evaluate("document.getElementById('settings').elements.hidden.value = '9'")
        _click(browser, "#apply")
        assert "at most 6 widths from 1 to 8" in browser.wait_for(
            "document.getElementById('message').textContent")
        problems = browser.problems(own=(server.url, "data:"))
    assert problems == {"console_errors": [], "exceptions": [], "log_errors": [],
                        "requests": []}
