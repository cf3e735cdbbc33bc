"""``Explanation``: the chain rule of one forward/backward pass, in the textbook's notation.

Each recorded step becomes a layer view with its forward quantities (``z[l] = W[l] a[l-1] +
b[l]``, ``a[l] = g(z[l])``) and its backward terms, in reverse order (``∂J/∂a[l]``, ``∂J/∂z[l] =
∂J/∂a[l] ⊙ g'(z[l])``, ``∂J/∂W[l]``, ``∂J/∂b[l]``, ``∂J/∂a[l-1]``). Every term that has a
textbook formula is computed from that formula, in float64, from the values that flowed
forward, and compared with what the backward rules produced; terms without one (a
convolution, a reshape) show the backward rules' values under the op's name and shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .check import LayerCheck
from .formulas import ACTIVATIONS, LossFormula
from .trace import Step, Trace

__all__ = ["Quantity", "LayerView", "Explanation", "build"]

FULL_VALUES_UP_TO = 32  # arrays with at most this many elements are shown in full


@dataclass
class Quantity:
    """One named value: a symbol, how it is computed, its values, and its verification."""

    symbol: str
    formula: str
    value: np.ndarray | None
    difference: float | None = None  # max |formula - backward| where both exist
    ok: bool | None = None  # None: not verified (shown from the backward rules only)
    kind: str = ""  # "grad_output", "grad_parameter" or "grad_input" for backward terms

    def to_dict(self, full_values: bool) -> dict:
        value = None if self.value is None else np.asarray(self.value)
        entry = {"symbol": self.symbol, "formula": self.formula, "kind": self.kind,
                 "shape": None if value is None else list(value.shape),
                 "verified": self.ok, "difference": self.difference}
        if value is not None:
            entry["stats"] = statistics(value)
            if full_values or value.size <= FULL_VALUES_UP_TO:
                entry["values"] = value.tolist()
        return entry


@dataclass
class LayerView:
    title: str  # e.g. "layer 1 · Linear (0)"
    layer: int
    role: str  # "affine", "activation", "loss" or "other"
    forward: list[Quantity] = field(default_factory=list)
    backward: list[Quantity] = field(default_factory=list)


def statistics(value: np.ndarray) -> dict:
    """Summary numbers for arrays too big to print: norm, mean, max |·|, fraction of zeros."""
    v = np.asarray(value, dtype=np.float64)
    if v.size == 0:
        return {"norm": 0.0, "mean": 0.0, "max_abs": 0.0, "zeros": 0.0}
    return {"norm": float(np.linalg.norm(v)), "mean": float(v.mean()),
            "max_abs": float(np.abs(v).max()), "zeros": float(np.mean(v == 0))}


def _verify(symbol: str, formula: str, derived: np.ndarray, engine: np.ndarray | None,
            kind: str = "") -> Quantity:
    """A term computed from its formula, checked against the backward rules' value."""
    if engine is None:
        return Quantity(symbol, formula, derived, kind=kind)
    engine64 = np.asarray(engine, dtype=np.float64)
    difference = float(np.abs(derived - engine64).max()) if derived.size else 0.0
    scale = float(np.abs(engine64).max()) if engine64.size else 0.0
    tolerance = 1e-6 + 1e-4 * scale if engine.dtype == np.float32 else 1e-9 + 1e-7 * scale
    return Quantity(symbol, formula, engine, difference, difference <= tolerance, kind)


def _input_gradient(symbol: str, formula: str, derived: np.ndarray, step: Step
                    ) -> list[Quantity]:
    """∂J/∂(input) by this step's formula, checked against backward. An input read by several
    ops (a residual connection) receives the sum of their gradients, so there the formula
    gives this op's share and the backward rules' total is shown beside it."""
    if step.input_uses <= 1:
        return [_verify(symbol, formula, derived, step.grad_input, "grad_input")]
    return [Quantity(symbol, f"{formula}  (this op's share)", derived),
            Quantity(symbol, f"Σ over the {step.input_uses} ops reading it", step.grad_input,
                     kind="grad_input")]


def _rows(value: np.ndarray) -> np.ndarray:
    """Batches are rows: fold every leading axis into one."""
    value = np.asarray(value, dtype=np.float64)
    return value.reshape(-1, value.shape[-1]) if value.ndim > 1 else value.reshape(1, -1)


def _affine_view(step: Step, layer: int, a_in: str) -> LayerView:
    w = np.asarray(step.params["weight"], dtype=np.float64)
    view = LayerView(f"layer {layer} · {step.kind} ({step.name})", layer, "affine")
    bias = "bias" in step.params
    view.forward = [
        Quantity(a_in, "input", step.input),
        Quantity(f"W[{layer}]", f"weight {tuple(w.shape)}", step.params["weight"]),
        *([Quantity(f"b[{layer}]", "bias", step.params["bias"])] if bias else []),
        Quantity(f"z[{layer}]", f"W[{layer}] {a_in}" + (f" + b[{layer}]" if bias else ""),
                 step.output),
    ]
    if step.grad_output is None:
        return view
    dz = _rows(step.grad_output)
    a = _rows(step.input)
    view.backward = [
        Quantity(f"∂J/∂z[{layer}]", "from the layer above", step.grad_output,
                 kind="grad_output"),
        _verify(f"∂J/∂W[{layer}]", f"∂J/∂z[{layer}]ᵀ {a_in}  (Σ over rows)",
                dz.T @ a, step.grad_params.get("weight"), "grad_parameter"),
    ]
    if bias:
        view.backward.append(_verify(f"∂J/∂b[{layer}]", f"Σ over rows of ∂J/∂z[{layer}]",
                                     dz.sum(axis=0), step.grad_params.get("bias"),
                                     "grad_parameter"))
    if step.grad_input is not None:
        derived = (dz @ w).reshape(np.shape(step.input))
        view.backward += _input_gradient(f"∂J/∂{a_in}", f"∂J/∂z[{layer}] W[{layer}]", derived,
                                         step)
    return view


def _activation_view(step: Step, layer: int, z_in: str, a_out: str) -> LayerView:
    g = ACTIVATIONS[step.kind]
    view = LayerView(f"layer {layer} · {step.kind}" + ("" if step.is_op else f" ({step.name})"),
                     layer, "activation")
    view.forward = [Quantity(a_out, f"{g.symbol}({z_in})", step.output)]
    if step.grad_output is None:
        return view
    z = np.asarray(step.input, dtype=np.float64)
    a = np.asarray(step.output, dtype=np.float64)
    slope = g.derivative(z, a, step.settings)
    view.backward = [
        Quantity(f"∂J/∂{a_out}", "from the layer above", step.grad_output, kind="grad_output"),
        Quantity(f"g'({z_in})", g.derivative_text, slope),
    ]
    if step.grad_input is not None:
        view.backward += _input_gradient(f"∂J/∂{z_in}", f"∂J/∂{a_out} ⊙ g'({z_in})",
                                         np.asarray(step.grad_output, np.float64) * slope, step)
    return view


def _other_view(step: Step, layer: int, x_in: str, out: str, arguments: str) -> LayerView:
    label = step.kind if step.is_op else f"{step.kind} ({step.name})"
    view = LayerView(f"layer {layer} · {label}", layer, "other")
    view.forward = [Quantity(name, "parameter", value) for name, value in step.params.items()]
    view.forward.append(Quantity(out, f"{step.kind}({arguments})", step.output))
    if step.grad_output is None:
        return view
    view.backward = [Quantity(f"∂J/∂{out}", "from the layer above", step.grad_output,
                              kind="grad_output")]
    view.backward += [Quantity(f"∂J/∂{name}", f"{step.kind}.backward", grad,
                               kind="grad_parameter") for name, grad in step.grad_params.items()]
    if step.grad_input is not None:
        view.backward.append(Quantity(f"∂J/∂{x_in}", f"{step.kind}.backward", step.grad_input,
                                      kind="grad_input"))
    return view


@dataclass
class Explanation:
    """One forward and backward pass of a model, term by term, with its checks.

    Attributes:
        layers: layer views in forward order (render the backward terms in reverse).
        loss: J's value; ``loss_formula`` its formula.
        check: per-layer whole-model gradient check (empty when not run).
        culprit: the first layer, going backward from the loss, whose gradient disagrees with
            central differences; None when all agree.
    """

    model_name: str
    batch_size: int
    layers: list[LayerView]
    loss: float
    loss_formula: LossFormula
    loss_view: LayerView
    check: list[LayerCheck] = field(default_factory=list)
    culprit: str | None = None

    @property
    def verified(self) -> bool:
        """Every formula term agreed with backward and every checked layer agreed."""
        terms = [q for view in self.layers + [self.loss_view] for q in view.backward]
        return all(q.ok is not False for q in terms) and all(c.ok for c in self.check)

    def disagreements(self) -> list[str]:
        """Symbols of the formula terms that disagree with the backward rules."""
        return [f"{view.title}: {q.symbol}" for view in [self.loss_view] + self.layers[::-1]
                for q in view.backward if q.ok is False]

    def to_dict(self, full_values: bool = False) -> dict:
        """Plain data (lists and numbers) for notebooks, JSON and tests."""
        def view_dict(view: LayerView) -> dict:
            return {"title": view.title, "layer": view.layer, "role": view.role,
                    "forward": [q.to_dict(full_values) for q in view.forward],
                    "backward": [q.to_dict(full_values) for q in view.backward]}

        return {
            "model": self.model_name, "batch_size": self.batch_size,
            "loss": {"value": self.loss, "name": self.loss_formula.name,
                     "formula": self.loss_formula.text, **view_dict(self.loss_view)},
            "layers": [view_dict(v) for v in self.layers],
            "check": [{"layer": c.layer, "ok": c.ok, "max_rel_error": c.max_rel_error,
                       "parameters": [vars(p) for p in c.parameters]} for c in self.check],
            "culprit": self.culprit, "verified": self.verified,
        }

    def render(self, color: bool | None = None, width: int = 100) -> str:
        from .render_text import render

        return render(self, color=color, width=width)

    def __str__(self) -> str:
        return self.render(color=False)

    def to_html(self, path=None, monitor=None) -> str:
        """A self-contained HTML report; written to ``path`` when given. With a
        ``GradientMonitor``, the report adds its gradient flow over training."""
        from .render_html import render_html

        return render_html(self, path, monitor=monitor)


def build(trace: Trace, model_name: str) -> Explanation:
    """Turn a recorded pass into layer views with textbook symbols."""
    views: list[LayerView] = []
    layer, current = 0, "a[0]"
    symbols: dict[int, str] = {}  # output array -> its symbol, for inputs off the main chain
    for step in trace.steps:
        current = symbols.get(id(step.input), current)
        if step.kind == "Linear" and "weight" in step.params:
            layer += 1
            views.append(_affine_view(step, layer, current))
            current = f"z[{layer}]"
        elif step.kind in ACTIVATIONS:
            layer = max(layer, 1)
            out = f"a[{layer}]"
            views.append(_activation_view(step, layer, current, out))
            current = out
        else:
            if step.params:
                layer += 1
                out = f"z[{layer}]"
            else:
                out = current + "′"
            # a constant operand (a scalar, a mask) has no symbol: it shows as "c"
            arguments = ", ".join(symbols.get(id(a), "c") for a in step.arguments[1:])
            views.append(_other_view(step, max(layer, 1), current, out,
                                     ", ".join(filter(None, [current, arguments]))))
            current = out
        symbols[id(step.output)] = current

    formula = trace.loss_formula
    loss_view = LayerView(f"loss · {formula.name}", layer + 1, "loss")
    output_symbol = symbols.get(id(trace.output), current)
    loss_view.forward = [Quantity("h", f"model output {output_symbol}", trace.output),
                         Quantity("y", "target", trace.target),
                         Quantity("J", formula.text.removeprefix("J = "),
                                  np.asarray(trace.loss))]
    if formula.gradient is not None:
        derived = formula.gradient(np.asarray(trace.output, dtype=np.float64))
        loss_view.backward = [_verify("∂J/∂h", formula.gradient_text.removeprefix("∂J/∂h = "),
                                      derived, trace.grad_output, "grad_input")]
    elif trace.grad_output is not None:
        loss_view.backward = [Quantity("∂J/∂h", formula.gradient_text, trace.grad_output,
                                       kind="grad_input")]
    batch = int(np.shape(trace.inputs)[0]) if np.ndim(trace.inputs) else 1
    return Explanation(model_name, batch, views, trace.loss, formula, loss_view)
