"""The HTML report: one self-contained file with the formulas, the forward and backward tables,
the gradient check and the plots.

Nothing in it reaches the network: the style sheet is inline, plots are PNG data URIs, and
there is no script. Small arrays are shown in full, large ones by summary statistics (as in
the text rendering). Without matplotlib the report keeps its tables and says why the plots
are missing.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np

from . import plots
from .explanation import FULL_VALUES_UP_TO, Explanation, LayerView, Quantity, statistics, verdicts
from .render_text import format_value

__all__ = ["render_html"]

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em;
       color: #1d2126; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ccd; }
.status { font-weight: 600; } .ok { color: #17813a; } .bad { color: #c0262d; }
.muted { color: #667; }
.note { background: #f6f7f9; padding: .6em 1em; border-left: 3px solid #99a; }
table { border-collapse: collapse; margin: .6em 0 1.2em; }
th, td { padding: .25em .6em; text-align: left; vertical-align: top;
         border-bottom: 1px solid #e3e5ea; }
th { background: #f1f3f6; font-weight: 600; white-space: nowrap; }
tr.group td { background: #e9eef6; font-weight: 600; border-top: 2px solid #c5cedd; }
td.sym, .formula { font-family: "DejaVu Serif", Georgia, serif; white-space: nowrap; }
td.num, table.m td { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; }
table.m { margin: 0; border-left: 2px solid #99a; border-right: 2px solid #99a; }
table.m td { border: none; padding: 0 .5em 0 0; text-align: right; }
ul.formulas li { margin: .2em 0; } img { max-width: 100%; border: 1px solid #e3e5ea; }
"""


def render_html(explanation: Explanation | None = None, path=None, monitor=None) -> str:
    """The report of an ``Explanation`` and/or a ``GradientMonitor`` as one HTML string,
    written (UTF-8) to ``path`` when given.

    Example:
        >>> import chainrule as cr
        >>> net = cr.nn.Sequential(cr.nn.Linear(2, 1), cr.nn.Sigmoid())
        >>> page = cr.explain(net, [[0.0, 1.0]], [[1.0]]).to_html()
        >>> page.startswith("<!DOCTYPE html>")
        True
    """
    if explanation is None and monitor is None:
        raise ValueError("render_html: give an explanation, a monitor or both")
    parts: list[str] = []
    if explanation is not None:
        e = explanation
        title = f"chainrule explain · {e.model_name}"
        parts += [f"<h1>{_text(title)}</h1>", _summary(e), _formulas(e), _forward(e),
                  _backward(e)]
        if e.check:
            parts.append(_check(e))
        parts += ["<h2>Gradient magnitude per layer</h2>",
                  _image(plots.gradient_magnitudes(e), "gradient magnitude per layer")]
    else:
        title = "chainrule · gradient monitor"
        parts.append(f"<h1>{_text(title)}</h1>")
    if monitor is not None:
        parts.append(_monitor(monitor, explanation))
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<link rel=\"icon\" href=\"data:,\">"  # no favicon request
            f"<title>{_text(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def _text(value) -> str:
    """Escaped for element text (σ'(z) keeps its prime readable in the source)."""
    return html.escape(str(value), quote=False)


def _attribute(value) -> str:
    return html.escape(str(value), quote=True)


def _number(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return "0" if value == 0 else f"{value:.4g}"


_GRID_COLUMNS = 8  # wider rows are wrapped as text so the page needs no sideways scrolling


def _values(value) -> str:
    """Every number of a small array (as a grid for 1-d and 2-d), statistics of a large one."""
    if value is None:
        return ""
    array = np.asarray(value)
    if array.size > FULL_VALUES_UP_TO:
        s = statistics(array)
        return (f"<span class=\"muted\">norm</span> {_number(s['norm'])} "
                f"<span class=\"muted\">mean</span> {_number(s['mean'])} "
                f"<span class=\"muted\">max|·|</span> {_number(s['max_abs'])} "
                f"<span class=\"muted\">zeros</span> {100 * s['zeros']:.0f}%")
    if array.ndim == 0:
        return _number(array.item())
    if array.ndim > 2 or array.shape[-1] > _GRID_COLUMNS:  # wrapped text, not a wide grid
        return "<br>".join(_text(line) for line in format_value(array, 80))
    rows = array.reshape(1, -1) if array.ndim == 1 else array
    body = "".join("<tr>" + "".join(f"<td>{_number(v)}</td>" for v in row) + "</tr>"
                   for row in rows.tolist())
    return f"<table class=\"m\">{body}</table>"


def _shape(q: Quantity) -> str:
    return "" if q.value is None else _text(tuple(np.shape(q.value)))


def _mark(q: Quantity) -> str:
    if q.ok is True:
        return f"<span class=\"ok\">✓</span> Δ {q.difference:.0e}"
    if q.ok is False:
        return f"<span class=\"bad\">✗ differs</span> Δ {q.difference:.3g}"
    return "<span class=\"muted\">—</span>"


def _table(views: list[LayerView], part: str) -> str:
    backward = part == "backward"
    head = ["symbol", "formula", "shape", "values"] + (["= backward?"] if backward else [])
    rows = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for view in views:
        quantities = view.backward if backward else view.forward
        if not quantities:
            continue
        rows.append(f"<tr class=\"group\"><td colspan=\"{len(head)}\">{_text(view.title)}"
                    "</td></tr>")
        for q in quantities:
            cells = [f"<td class=\"sym\">{_text(q.symbol)}</td>",
                     f"<td class=\"formula\">{_text(q.formula)}</td>",
                     f"<td class=\"num\">{_shape(q)}</td>", f"<td>{_values(q.value)}</td>"]
            if backward:
                cells.append(f"<td>{_mark(q)}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(rows) + "</table>"


_VERDICT_CLASSES = {True: "ok", False: "bad", None: "muted"}


def _summary(e: Explanation) -> str:
    lines = "".join(f"<p class=\"status {_VERDICT_CLASSES[v.ok]}\">{_text(v.text)}</p>"
                    for v in verdicts(e))
    return (f"<p>batch of m = {e.batch_size} samples · loss {_text(e.loss_formula.name)} "
            f"J = {_number(e.loss)}</p>{lines}")


def _formulas(e: Explanation) -> str:
    derivatives = dict.fromkeys(q.formula for v in e.layers for q in v.backward
                                if q.symbol.startswith("g'("))
    items = [
        "forward, one sample a column: z[l] = W[l] a[l-1] + b[l],  a[l] = g(z[l])",
        "a batch stacks samples as rows: Z[l] = A[l-1] W[l]ᵀ + b[l]",
        f"loss: {e.loss_formula.text}",
        f"its gradient: {e.loss_formula.gradient_text}",
        "backward: ∂J/∂z[l] = ∂J/∂a[l] ⊙ g'(z[l])",
        "∂J/∂W[l] = ∂J/∂z[l]ᵀ a[l-1] (summed over the rows),  ∂J/∂b[l] = Σ rows ∂J/∂z[l]",
        "∂J/∂a[l-1] = ∂J/∂z[l] W[l]",
        *derivatives,
        "gradient descent: θ ← θ − η ∂J/∂θ",
        *e.notes,
    ]
    lines = "".join(f"<li class=\"formula\">{_text(item)}</li>" for item in items)
    return f"<h2>Formulas</h2><ul class=\"formulas\">{lines}</ul>"


def _forward(e: Explanation) -> str:
    return "<h2>Forward pass</h2>" + _table(e.layers + [e.loss_view], "forward")


def _backward(e: Explanation) -> str:
    return ("<h2>Backward pass</h2><p class=\"muted\">in reverse order; each term with a "
            "textbook formula is computed from it in float64 and compared with what the "
            "backward rules produced</p>" + _table([e.loss_view] + e.layers[::-1], "backward"))


def _check(e: Explanation) -> str:
    rows = ["<table><tr><th>parameter</th><th>checked where backward ≠ 0</th>"
            "<th>checked where = 0</th><th>max abs. error</th><th>max rel. error</th>"
            "<th></th></tr>"]
    for layer in e.check:
        rows.append(f"<tr class=\"group\"><td colspan=\"6\">{_text(e.check_label(layer))}"
                    "</td></tr>")
        for p in layer.parameters:
            mark = ("<span class=\"bad\">✗</span>" if not p.ok else
                    "<span class=\"muted\">nothing to check</span>" if p.vacuous else
                    "<span class=\"ok\">✓</span>")
            rows.append(f"<tr><td class=\"sym\">{_text(e.parameter_symbol(layer, p))}</td>"
                        f"<td class=\"num\">{p.checked_nonzero} of {p.nonzero}</td>"
                        f"<td class=\"num\">{p.checked_zero} of {p.size - p.nonzero}</td>"
                        f"<td class=\"num\">{p.max_abs_error:.2e}</td>"
                        f"<td class=\"num\">{p.max_rel_error:.2e}</td><td>{mark}</td></tr>")
    return ("<h2>Gradient check</h2><p class=\"muted\">each parameter's gradient from backward "
            "against central differences (J(θ+ε) − J(θ−ε))/2ε, in float64, at entries "
            "sampled mostly where backward's gradient is not zero</p>"
            + "\n".join(rows) + "</table>")


def _image(png: bytes | None, alt: str) -> str:
    if png is None:
        return ("<p class=\"note\">Plots need matplotlib (pip install matplotlib); "
                "the tables above hold the same numbers.</p>")
    data = base64.b64encode(png).decode("ascii")
    return f"<p><img alt=\"{_attribute(alt)}\" src=\"data:image/png;base64,{data}\"></p>"


_EPOCH_COLUMNS = 12  # longer runs show epochs spaced logarithmically, first and last included


def _epoch_table(title: str, table: dict, names: dict, epochs: list, percent: bool) -> str:
    if not table:
        return ""
    shown = range(len(epochs)) if len(epochs) <= _EPOCH_COLUMNS else np.unique(
        np.geomspace(1, len(epochs), _EPOCH_COLUMNS).round().astype(int) - 1)
    head = "".join(f"<th>{epochs[i] + 1}</th>" for i in shown)
    rows = [f"<h3>{_text(title)}</h3><table><tr><th>layer \\ epoch</th>{head}</tr>"]
    for name, values in table.items():
        cells = "".join(
            f"<td class=\"num\">{100 * values[i]:.1f}%</td>"
            if percent and math.isfinite(values[i])
            else f"<td class=\"num\">{_number(values[i])}</td>" for i in shown)
        rows.append(f"<tr><td>{_text(names[name])}</td>{cells}</tr>")
    return "\n".join(rows) + "</table>"


def _monitor(monitor, explanation: Explanation | None) -> str:
    """The monitor's tables; with an explanation of the same model, its layers are named by
    the explanation's headings (one numbering in one report)."""
    data = monitor.to_dict()
    parts = ["<h2>Gradient flow over training</h2>",
             _image(plots.gradient_flow({"": data}), "gradient flow over training")]
    finding = data["nonfinite"]
    if finding is not None:
        parts.append(f"<p class=\"bad\">First NaN/Inf: epoch {finding['epoch'] + 1}, batch "
                     f"{finding['batch']}: {_text(finding['message'])}</p>")
    epochs = data["epochs"]
    names = {name: (explanation and explanation.heading(name)) or f"{name} {kind}"
             for name, kind in data["kinds"].items()}
    parts += [
        _epoch_table("Mean gradient norm per batch ‖∇θ J‖", data["grad_norm"], names, epochs,
                     False),
        _epoch_table("Update-to-weight ratio ‖Δθ‖ / ‖θ‖", data["update_ratio"], names, epochs,
                     False),
        _epoch_table("Dead ReLU units (never positive in the epoch)", data["dead_relu"], names,
                     epochs, True),
        _epoch_table("Saturated sigmoid/tanh outputs", data["saturation"], names, epochs,
                     True),
    ]
    return "\n".join(part for part in parts if part)
