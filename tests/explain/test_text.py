"""The terminal rendering: a snapshot of the XOR example, width, colour only when asked."""

import html
import os
import re
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.explain.explanation import verdicts
from chainrule.ops import activation

SNAPSHOT = Path(__file__).parent / "data" / "xor_explain.txt"

# Agreement margins of order 1e-9 come from float32 rounding and BLAS summation order, which
# differ between machines; every value the text shows to 4 digits must match exactly.
_NOISE = [
    (re.compile(r"Δ [0-9.]+e[+-]\d+"), "Δ <tiny>"),
    (re.compile(r"\d\.\d\de[+-]\d\d( +)\d\.\d\de[+-]\d\d(  [✓✗])$", re.M),
     r"<abs>\1<rel>\2"),
]


def _mask(text: str) -> str:
    for pattern, replacement in _NOISE:
        text = pattern.sub(replacement, text)
    return text


def test_snapshot_of_the_xor_example(xor_explanation):
    text = xor_explanation.render(color=False)
    if os.environ.get("CHAINRULE_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text + "\n", encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8").rstrip("\n")
    assert _mask(text) == _mask(expected)
    assert str(xor_explanation) == text  # print() shows the same, without colour


def test_mask_keeps_values_and_hides_only_noise():
    line = "  ∂J/∂z[2]    ∂J/∂a[2] ⊙ g'(z[2])    (4, 1)  ✓ = backward (Δ 1e-09)"
    assert _mask(line) == line.replace("Δ 1e-09", "Δ <tiny>")
    row = "    W[1]             4 of 4 ≠ 0         0 of 0 = 0        1.02e-10        3.87e-07  ✓"
    assert _mask(row).endswith("<abs>        <rel>  ✓") and "4 of 4 ≠ 0" in _mask(row)
    assert _mask("[[0.4959, 0.1937]]") == "[[0.4959, 0.1937]]"


def test_fits_100_columns_and_colour_is_optional(xor_explanation):
    plain = xor_explanation.render(color=False)
    assert "\033[" not in plain
    assert max(len(line) for line in plain.splitlines()) <= 100
    narrow = xor_explanation.render(color=False, width=72)
    assert max(len(line) for line in narrow.splitlines()) <= 72
    coloured = xor_explanation.render(color=True)
    assert "\033[32m✓\033[0m" in coloured and "\033[1m" in coloured
    assert re.sub(r"\033\[\d+m", "", coloured) == plain


def test_colour_follows_the_terminal(xor_explanation, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert "\033[" not in xor_explanation.render()


def test_a_shape_is_printed_once(xor_explanation):
    row = next(line for line in str(xor_explanation).splitlines()
               if line.lstrip().startswith("W[1] "))
    assert row.count("(2, 2)") == 1


def test_a_primed_symbol_is_explained():
    net = cr.nn.Sequential(cr.nn.Flatten(), cr.nn.Linear(4, 1))
    x = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    text = str(cr.explain(net, x, np.ones((2, 1), np.float32), "mse"))
    notation = " ".join(text.split("FORWARD")[0].split())
    assert "′ marks a value made from another without parameters" in notation
    assert "a[0]′ = Flatten(a[0])" in notation


def test_text_and_html_give_the_same_verdicts(xor, monkeypatch):
    model, x, y, loss = xor
    right = cr.explain(model, x, y, loss)
    monkeypatch.setattr(activation.Sigmoid, "backward",
                        lambda self, grad: 1.5 * grad * self.out * (1 - self.out))
    wrong = cr.explain(model, x, y, loss)
    for e, ok in ((right, True), (wrong, False)):
        lines = verdicts(e)
        assert lines and all(line.ok is ok for line in lines if line.ok is not None)
        text, page = e.render(color=False), e.to_html()
        for line in lines:
            assert line.text in " ".join(text.split())
            assert html.escape(line.text, quote=False) in page
