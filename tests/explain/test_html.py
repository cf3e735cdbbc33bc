"""The HTML report: self-contained, complete, and rendered by a real browser without errors."""

import re

import numpy as np
import pytest
from chromium import open_page, require_chromium
from optional_packages import importorskip

import chainrule as cr
from chainrule.explain import GradientMonitor, plots
from chainrule.explain.render_html import render_html


@pytest.fixture
def trained_monitor(xor):
    model, x, y, loss = xor
    monitor = GradientMonitor()
    cr.fit(model, (x, y), loss=loss, optimizer=cr.optim.SGD(model.parameters(), lr=2.0),
           epochs=30, batch_size=4, shuffle=False, metrics=(), progress=False,
           callbacks=[monitor])
    return monitor


@pytest.fixture
def report(xor_explanation, trained_monitor, tmp_path):
    path = tmp_path / "report.html"
    page = xor_explanation.to_html(path, monitor=trained_monitor)
    assert path.read_text(encoding="utf-8") == page
    return path


def test_report_holds_formulas_tables_check_and_plots(report):
    importorskip("matplotlib")  # the plots this test looks for
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for heading in ("Formulas", "Forward pass", "Backward pass", "Gradient check",
                    "Gradient magnitude per layer", "Gradient flow over training"):
        assert f"<h2>{heading}</h2>" in page
    assert "loss: J = 1/(2m) Σ (h − y)²" in page and "σ'(z) = a ⊙ (1 − a)" in page
    assert "<td>0.4959</td><td>0.1937</td>" in page  # W[1], every number of a tiny net
    assert page.count("<span class=\"ok\">✓</span> Δ") == 9  # the verified backward terms
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', page)) == 2
    assert "Update-to-weight ratio" in page and "Saturated sigmoid/tanh outputs" in page


def test_nothing_reaches_the_network(report):
    page = report.read_text(encoding="utf-8")
    assert not re.findall(r'(?:src|href)="(?!data:)', page)
    assert "<script" not in page and "@import" not in page and "url(" not in page


def test_large_values_as_statistics_and_text_escaped(tmp_path):
    odd = type("Net<&>", (cr.nn.Sequential,), {})
    net = odd(cr.nn.Linear(20, 30), cr.nn.ReLU(), cr.nn.Linear(30, 3))
    x = np.random.default_rng(0).normal(size=(8, 20)).astype(np.float32)
    page = cr.explain(net, x, np.arange(8) % 3, "cross_entropy").to_html()
    assert "<title>chainrule explain · Net&lt;&amp;&gt;</title>" in page
    assert '<span class="muted">norm</span>' in page and "Net<&>" not in page


def test_without_matplotlib_the_tables_stay(xor_explanation, trained_monitor, monkeypatch):
    monkeypatch.setattr(plots, "available", lambda: False)
    page = xor_explanation.to_html(monitor=trained_monitor)
    assert "<img" not in page and page.count("Plots need matplotlib") == 2
    assert "<h2>Backward pass</h2>" in page and "Mean gradient norm per batch" in page


def test_monitor_report_alone(trained_monitor, tmp_path):
    page = trained_monitor.to_html(tmp_path / "monitor.html")
    assert "<title>chainrule · gradient monitor</title>" in page
    assert "<h2>Gradient flow over training</h2>" in page and "Forward pass" not in page
    with pytest.raises(ValueError, match="render_html: give an explanation"):
        render_html()


@pytest.fixture(scope="module")
def chromium():
    return require_chromium()


def test_report_renders_in_chromium(report, chromium):
    importorskip("matplotlib")  # the plots this test looks for
    seen = open_page(report, chromium)
    assert seen["title"] == "chainrule explain · Sequential"
    assert seen["console_errors"] == [] and seen["exceptions"] == []
    assert seen["log_errors"] == [] and seen["requests"] == []
    assert len(seen["images"]) == 2
    for image in seen["images"]:
        assert image["complete"] and image["width"] > 0, image


def test_the_browser_check_sees_broken_pages(tmp_path, chromium):
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><head><title>broken</title></head><body>"
                    '<img alt="bad" src="data:image/png;base64,AAAA">'
                    '<img alt="missing" src="missing.png">'
                    "<script>console.error('boom'); undefined_function();</script>"
                    "</body></html>", encoding="utf-8")
    seen = open_page(page, chromium)
    assert [image["width"] for image in seen["images"]] == [0, 0]
    assert len(seen["console_errors"]) == 1 and len(seen["exceptions"]) == 1
    assert seen["log_errors"]  # the missing file


def test_the_monitor_tables_name_layers_as_the_explanation_does(report):
    """One numbering in one report: the monitor's rows carry the explanation's headings,
    not the layers' positions in the Sequential."""
    page = report.read_text(encoding="utf-8")
    flow = page.split("<h2>Gradient flow over training</h2>")[1]
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">", flow)
    assert rows and set(rows) == {"layer 1 · Linear", "layer 2 · Linear", "layer 1 · Sigmoid",
                                  "layer 2 · Sigmoid"}
