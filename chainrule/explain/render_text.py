"""The terminal rendering of an ``Explanation``: aligned, at most ``width`` columns, colour only
on a terminal."""

from __future__ import annotations

import sys

import numpy as np

from .explanation import FULL_VALUES_UP_TO, Explanation, LayerView, Quantity, statistics, verdicts

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


def _wrap(text: str, width: int, indent: str) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` columns, the later ones
    indented."""
    lines = []
    while len(text) > width:
        cut = text.rfind(" ", len(indent) + 1, width)
        cut = width if cut <= len(indent) else cut
        lines.append(text[:cut].rstrip())
        text = indent + text[cut:].lstrip()
    return lines + [text]


def _marked(plain: str, mark: str, styled: str, width: int) -> list[str]:
    """A line and its verdict mark, the mark on a line of its own when both do not fit."""
    if not mark:
        return _wrap(plain, width, " " * 6)
    if len(plain) + 2 + len(mark) <= width:
        return [plain + "  " + styled]
    return _wrap(plain, width, " " * 6) + ["      " + styled]


def _quantity_lines(q: Quantity, width: int, color: bool) -> list[str]:
    shape = "" if q.value is None else str(tuple(np.shape(q.value)))
    # columns: symbol from 2, formula from 14, shape from 55, each pushed right by a long one
    head = f"  {q.symbol:<11}{'  ' if len(q.symbol) > 11 else ' '}{q.formula}"
    head = f"{head:<54} {shape}".rstrip()
    if q.ok is True:
        mark, styled = "✓", _style("✓", "green", color)
        detail = f" = backward (Δ {q.difference:.0e})"
    elif q.ok is False:
        mark, styled = "✗ DIFFERS", _style("✗ DIFFERS", "red", color)
        detail = f" from backward (Δ {q.difference:.3g})"
    else:
        mark = styled = detail = ""
    lines = _marked(head, mark + detail, styled + detail, width)
    if q.value is not None:
        lines += ["      " + line for line in format_value(q.value, width - 6)]
    return lines


def _section(title: str, subtitle: str, width: int, color: bool) -> list[str]:
    first, *rest = _wrap(f"{title}  {subtitle}", width, "  ")
    return ["", _style(title, "bold", color) + _style(first[len(title):], "dim", color),
            *(_style(line, "dim", color) for line in rest), "─" * width]


def _view_lines(view: LayerView, part: str, width: int, color: bool) -> list[str]:
    quantities = view.forward if part == "forward" else view.backward
    if not quantities:
        return []
    lines = [_style(view.title, "cyan", color)]
    for q in quantities:
        lines += _quantity_lines(q, width, color)
    return lines


def _check_lines(e: Explanation, width: int, color: bool) -> list[str]:
    """Per layer, per parameter: the entries compared where backward's gradient is not zero
    and where it is, and the largest absolute and relative errors."""
    rows = [(layer, p, e.parameter_symbol(layer, p)) for layer in e.check for p in layer.parameters]
    column = max([12] + [len(symbol) for *_, symbol in rows])
    lines = _wrap(f"    {'parameter':<{column}} {'checked ≠ 0':>14} {'checked = 0':>18} "
                  f"{'max abs. error':>15} {'max rel. error':>15}", width, " " * 6)
    for layer, p, symbol in rows:
        if p is layer.parameters[0]:
            lines.append("  " + _style(e.check_label(layer), "cyan", color))
        if not p.ok:
            mark, styled = "✗", _style("✗", "red", color)
        elif p.vacuous:
            mark, styled = "nothing to check", _style("nothing to check", "dim", color)
        else:
            mark, styled = "✓", _style("✓", "green", color)
        row = (f"    {symbol:<{column}} {f'{p.checked_nonzero} of {p.nonzero} ≠ 0':>14} "
               f"{f'{p.checked_zero} of {p.size - p.nonzero} = 0':>18} "
               f"{p.max_abs_error:>15.2e} {p.max_rel_error:>15.2e}")
        lines += _marked(row, mark, styled, width)
    return lines


_VERDICT_STYLES = {True: "green", False: "red", None: "dim"}


def render(explanation: Explanation, color: bool | None = None, width: int = 100) -> str:
    """The whole explanation as text."""
    if color is None:
        color = sys.stdout.isatty()
    e = explanation
    lines = [_style(f"chainrule explain · {e.model_name} · batch of m = {e.batch_size} · "
                    f"J = {e.loss:.6g}", "bold", color)]
    for note in e.notes:
        lines += [_style(line, "dim", color) for line in _wrap(f"  {note}", width, "    ")]
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
        lines += _check_lines(e, width, color)
    lines.append("")
    for verdict in verdicts(e):
        lines += [_style(line, _VERDICT_STYLES[verdict.ok], color)
                  for line in _wrap(f"  {verdict.text}", width, "    ")]
    return "\n".join(lines)
