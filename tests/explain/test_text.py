"""The terminal rendering: a snapshot of the XOR example, width, colour only when asked."""

import os
import re
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "data" / "xor_explain.txt"

# Agreement margins of order 1e-9 come from float32 rounding and BLAS summation order, which
# differ between machines; every value the text shows to 4 digits must match exactly.
_NOISE = [
    (re.compile(r"Δ [0-9.]+e[+-]\d+"), "Δ <tiny>"),
    (re.compile(r"\d\.\d\de[+-]\d\d(  [✓✗])$", re.M), r"<rel>\1"),
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
    row = "  0                        weight                4/4         4.89e-09  ✓"
    assert _mask(row).endswith("<rel>  ✓") and "4/4" in _mask(row)
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
