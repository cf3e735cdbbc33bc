"""``Explanation``: the chain rule of one forward/backward pass, in the textbook's notation.

An explanation holds one layer view per step of the pass (``views.build`` makes them from a
recorded ``Trace``): its forward quantities (``z[l] = W[l] a[l-1] + b[l]``, ``a[l] = g(z[l])``)
and its backward terms (``∂J/∂a[l]``, ``∂J/∂z[l] = ∂J/∂a[l] ⊙ g'(z[l])``, ``∂J/∂W[l]``, …),
each term with a textbook formula checked against what the backward rules produced; then the
whole-model gradient check and the conclusion (``verdicts``) every rendering prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .check import LayerCheck, ParameterCheck
from .formulas import LossFormula

__all__ = ["Quantity", "LayerView", "Verdict", "LayerName", "Explanation", "statistics",
           "verdicts"]

FULL_VALUES_UP_TO = 32  # arrays with at most this many elements are shown in full


@dataclass
class Quantity:
    """One named value: a symbol, how it is computed, its values, and its verification."""

    symbol: str
    formula: str
    value: np.ndarray | None
    difference: float | None = None  # max |formula - backward| where both exist
    ok: bool | None = None  # None: not verified (shown from the backward rules only)
    # backward terms: "grad_output" (∂J/∂ what the layer made), "grad_parameter",
    # "grad_input" (∂J/∂ what it read) or "grad_share" (one reader's part of a sum)
    kind: str = ""

    def to_dict(self, full_values: bool) -> dict:
        value = None if self.value is None else np.asarray(self.value)
        entry: dict[str, Any] = {
            "symbol": self.symbol, "formula": self.formula, "kind": self.kind,
            "shape": None if value is None else list(value.shape),
            "verified": self.ok, "difference": self.difference}
        if value is not None:
            entry["stats"] = statistics(value)
            if full_values or value.size <= FULL_VALUES_UP_TO:
                entry["values"] = value.tolist()
        return entry


@dataclass
class LayerView:
    title: str  # e.g. "layer 1 · Linear (fc1)"
    layer: int  # the textbook's l
    role: str  # "affine", "activation", "loss" or "other"
    forward: list[Quantity] = field(default_factory=list)
    backward: list[Quantity] = field(default_factory=list)
    ops: tuple[str, ...] = ()  # the recorded ops this view accounts for
    module: str = ""  # the module's dotted name ("" for an op outside every module)


@dataclass(frozen=True)
class Verdict:
    """One line of the report's conclusion; ``ok`` is None where there was nothing to check."""

    ok: bool | None
    text: str


def statistics(value: np.ndarray) -> dict:
    """Summary numbers for arrays too big to print: norm, mean, max |·|, fraction of zeros."""
    v = np.asarray(value, dtype=np.float64)
    if v.size == 0:
        return {"norm": 0.0, "mean": 0.0, "max_abs": 0.0, "zeros": 0.0}
    return {"norm": float(np.linalg.norm(v)), "mean": float(v.mean()),
            "max_abs": float(np.abs(v).max()), "zeros": float(np.mean(v == 0))}


@dataclass
class LayerName:
    """How the report names a layer the gradient check compares: its heading, when the pass
    first used it, and its parameters' symbols."""

    heading: str
    position: int
    symbols: dict[str, str] = field(default_factory=dict)


@dataclass
class Explanation:
    """One forward and backward pass of a model, term by term, with its checks.

    Attributes:
        layers: layer views in forward order (render the backward terms in reverse).
        loss: J's value; ``loss_formula`` its formula.
        notes: how to read the notation this report uses (primes, shares).
        check: per-layer whole-model gradient check (empty when not run).
        culprit: the first layer, going backward from the loss, whose gradient disagrees with
            central differences, named as its heading (``layer 2 · LayerNorm``); None when
            all agree.
    """

    model_name: str
    batch_size: int
    layers: list[LayerView]
    loss: float
    loss_formula: LossFormula
    loss_view: LayerView
    notes: list[str] = field(default_factory=list)
    check: list[LayerCheck] = field(default_factory=list)
    culprit: str | None = None
    # check_model's layer name -> (heading, parameter name -> symbol)
    layer_names: dict[str, LayerName] = field(default_factory=dict)

    def attach_check(self, check: list[LayerCheck]) -> None:
        """Keep ``check_model``'s results in the order the pass used the layers, and name
        the culprit: the last of them (the first going backward from the loss) that
        disagrees."""
        unused = len(self.layers) + 1  # a layer the pass did not use goes last
        self.check = sorted(check, key=lambda c: getattr(self.layer_names.get(c.layer),
                                                         "position", unused))
        failing = [c for c in self.check if not c.ok]
        self.culprit = self.check_label(failing[-1]) if failing else None
        if any(c.second_order for c in check):
            self.notes.append("the loss differentiates the model itself (create_graph): the "
                              "gradient check compared its second-order terms too")

    def heading(self, module: str) -> str | None:
        """The heading of a module's (first) view: ``layer 2 · Linear (fc2)``."""
        return next((v.title for v in self.layers if v.module == module), None)

    def check_label(self, layer: LayerCheck) -> str:
        """The heading of a checked layer (``check_model`` names it by module)."""
        name = self.layer_names.get(layer.layer)
        return f"module {layer.layer} (not used by this pass)" if name is None else name.heading

    def parameter_symbol(self, layer: LayerCheck, parameter: ParameterCheck) -> str:
        name = self.layer_names.get(layer.layer)
        return parameter.name if name is None else name.symbols.get(parameter.name,
                                                                    parameter.name)

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
                    "module": view.module, "ops": list(view.ops),
                    "forward": [q.to_dict(full_values) for q in view.forward],
                    "backward": [q.to_dict(full_values) for q in view.backward]}

        return {
            "model": self.model_name, "batch_size": self.batch_size, "notes": self.notes,
            "loss": {"value": self.loss, "name": self.loss_formula.name,
                     "formula": self.loss_formula.text, **view_dict(self.loss_view)},
            "layers": [view_dict(v) for v in self.layers],
            "check": [{"layer": self.check_label(c), "module": c.layer, "ok": c.ok,
                       "max_rel_error": c.max_rel_error, "second_order": c.second_order,
                       "parameters": [{**vars(p), "symbol": self.parameter_symbol(c, p),
                                       "vacuous": p.vacuous} for p in c.parameters]}
                      for c in self.check],
            "culprit": self.culprit, "verified": self.verified,
            "verdicts": [vars(v) for v in verdicts(self)],
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


def verdicts(explanation: Explanation) -> list[Verdict]:
    """The report's conclusion, the same in every rendering: do the formula terms agree with
    backward, do the checked gradients agree with central differences, and which gradients
    had nothing to check."""
    e = explanation
    wrong = e.disagreements()
    lines = [Verdict(False, "terms that disagree with backward: " + ", ".join(wrong)) if wrong
             else Verdict(True, "every formula term agrees with backward")]
    if not e.check:
        return lines
    if e.culprit is None:
        lines.append(Verdict(True, "every checked gradient agrees with central differences"))
    else:
        lines.append(Verdict(False, "first layer that disagrees (going backward from the "
                                    f"loss): {e.culprit}: its backward rule, or an op inside "
                                    "it, is wrong; the layers before it inherit the error"))
    empty = [f"{', '.join(e.parameter_symbol(c, p) for p in c.parameters if p.ok and p.vacuous)}"
             f" ({e.check_label(c)})" for c in e.check
             if any(p.ok and p.vacuous for p in c.parameters)]
    if empty:
        lines.append(Verdict(None, f"nothing to check for {', '.join(empty)}: backward's "
                                   "gradient is 0 at every entry, and central differences "
                                   "agree where sampled"))
    return lines
