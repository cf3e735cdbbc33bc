"""The terminal rendering of an ``Explanation``: aligned, at most ``width`` columns, colour only
on a terminal."""

from __future__ import annotations

import sys

import numpy as np

from .explanation import FULL_VALUES_UP_TO, Explanation, LayerView, Quantity, statistics

__all__ = ["render", "format_value", "format_array"]

_STYLES = {"bold": "1", "dim": "2", "green": "32", "red": "31", "cyan": "36"}


def _style(text: str, style: str, color: bool) -> str:
    return f"\033[{_STYLES[style]}m{text}\033[0m" if color else text


def format_array(value) -> str:
    """Every number of an array on one line, to 4 decimals: ``[[0.4959, 0.1937]]``."""
    text = np.array2string(np.asarray(value), precision=4, suppress_small=True, separator=", ",
                           max_line_width=10**6, floatmode="maxprec")
    return " ".join(text.split())


def format_value(value, width: int) -> list[str]:
    """Every number of a small array, summary statistics of a large one, wrapped to ``width``."""
    array = np.asarray(value)
    if array.size <= FULL_VALUES_UP_TO:
        text = format_array(array)
    else:
        s = statistics(array)
        text = (f"norm {s['norm']:.4g}  mean {s['mean']:.4g}  max|·| {s['max_abs']:.4g}  "
                f"zeros {100 * s['zeros']:.0f}%")
    lines = []
    while len(text) > width:
        cut = text.rfind(" ", 0, width)
        cut = width if cut <= 0 else cut
        lines.append(text[:cut])
        text = text[cut:].lstrip()
    return lines + [text]


def _quantity_lines(q: Quantity, width: int, color: bool) -> list[str]:
    shape = "" if q.value is None else str(tuple(np.shape(q.value)))
    head = f"  {q.symbol:<11} {q.formula:<40} {shape:<10}"
    if q.ok is True:
        mark = _style("✓", "green", color) + f" = backward (Δ {q.difference:.0e})"
    elif q.ok is False:
        mark = _style("✗ DIFFERS", "red", color) + f" from backward (Δ {q.difference:.3g})"
    else:
        mark = ""
    lines = [head.rstrip() + ("  " + mark if mark else "")]
    if q.value is not None:
        lines += ["      " + line for line in format_value(q.value, width - 6)]
    return lines


def _section(title: str, subtitle: str, width: int, color: bool) -> list[str]:
    return ["", _style(title, "bold", color) + "  " + _style(subtitle, "dim", color),
            "─" * width]


def _view_lines(view: LayerView, part: str, width: int, color: bool) -> list[str]:
    quantities = view.forward if part == "forward" else view.backward
    if not quantities:
        return []
    lines = [_style(view.title, "cyan", color)]
    for q in quantities:
        lines += _quantity_lines(q, width, color)
    return lines


def render(explanation: Explanation, color: bool | None = None, width: int = 100) -> str:
    """The whole explanation as text."""
    if color is None:
        color = sys.stdout.isatty()
    e = explanation
    lines = [_style(f"chainrule explain · {e.model_name} · batch of m = {e.batch_size} · "
                    f"J = {e.loss:.6g}", "bold", color)]
    lines += _section("FORWARD", "z[l] = W[l] a[l-1] + b[l],  a[l] = g(z[l])   (a batch stacks "
                      "samples as rows: Z = A Wᵀ + b)", width, color)
    for view in e.layers + [e.loss_view]:
        lines += _view_lines(view, "forward", width, color)
    lines += _section("BACKWARD", "∂J/∂z = ∂J/∂a ⊙ g'(z),  ∂J/∂W = ∂J/∂z a[l-1]ᵀ,  "
                      "∂J/∂a[l-1] = Wᵀ ∂J/∂z", width, color)
    for view in [e.loss_view] + e.layers[::-1]:
        lines += _view_lines(view, "backward", width, color)
    if e.check:
        lines += _section("GRADIENT CHECK", "backward vs central differences, float64",
                          width, color)
        lines.append(f"  {'layer':<24} {'parameter':<12} {'checked':>12} {'max rel. error':>16}")
        for layer in e.check:
            for p in layer.parameters:
                mark = _style("✓", "green", color) if p.ok else _style("✗", "red", color)
                lines.append(f"  {layer.layer:<24} {p.name:<12} {f'{p.checked}/{p.size}':>12} "
                             f"{p.max_rel_error:>16.2e}  {mark}")
        if e.culprit is None:
            lines.append(_style("  every layer's gradient agrees with central differences",
                                "green", color))
        else:
            lines.append(_style(f"  first layer that disagrees (going backward from the loss): "
                                f"{e.culprit}", "red", color))
            lines.append("  its backward rule (or an op inside it) is wrong; the layers before it "
                         "inherit the error")
    wrong = e.disagreements()
    if wrong:
        lines += ["", _style("terms that disagree with backward: " + ", ".join(wrong), "red",
                             color)]
    return "\n".join(line[:width] if not color else line for line in lines)
