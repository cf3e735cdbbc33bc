"""The chain rule of one weight or bias: its path from the loss, sample by sample, and its check.

``chain_path`` reads an ``Explanation`` of a network of ``Linear`` layers and activations and
follows the gradient from the loss down to one entry ``W[l]ⱼₖ`` (or ``b[l]ⱼ``)::

    ∂J/∂h → ∂J/∂a[L] ⊙ g'(z[L]) → ∂J/∂z[L] W[L] → … → ∂J/∂a[l]ⱼ ⊙ g'(z[l]ⱼ) = ∂J/∂z[l]ⱼ
    ∂J/∂W[l]ⱼₖ = Σᵢ ∂J/∂z[l]ᵢⱼ · a[l−1]ᵢₖ        ∂J/∂b[l]ⱼ = Σᵢ ∂J/∂z[l]ᵢⱼ

Every term is the explanation's own (checked there against its textbook formula); above the
chosen layer a term is a row of values per sample, at the chosen layer the chosen unit's
column. ``check_entry`` differentiates the loss by that one entry with central differences.
Units and samples are numbered from 1 in symbols, as in the textbook; indices are 0-based.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .. import random as cr_random
from ..autograd import no_grad
from ..nn.module import Module
from ..tensor import Tensor
from .explanation import Explanation, LayerView, Quantity
from .trace import model_output

__all__ = ["Link", "ChainPath", "chain_path", "check_entry", "subscript"]

_SUBSCRIPTS = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")


def subscript(*indices: int) -> str:
    """Textbook subscripts, counted from 1: ``subscript(0, 2)`` is ``"₁,₃"``."""
    return ",".join(str(i + 1) for i in indices).translate(_SUBSCRIPTS)


@dataclass
class Link:
    """One term of the path: its symbol, formula, per-sample values and explain's verdict.

    **Shape**: ``value`` is ``(m, units)`` above the chosen layer, ``(m,)`` at it.
    """

    symbol: str
    formula: str
    value: np.ndarray
    verified: bool | None  # agreed with the backward rules (None: not a checked term)

    def to_dict(self) -> dict:
        return {"symbol": self.symbol, "formula": self.formula, "verified": self.verified,
                "values": self.value.tolist()}


@dataclass
class ChainPath:
    """The path from the loss to one parameter entry, with the numbers of one batch.

    Attributes:
        symbol: e.g. ``"W[1]₂,₁"``; equation: the last step of the chain, written out.
        links: terms from the loss down to the chosen unit's ``∂J/∂z``.
        local: ``∂z/∂θ`` per sample (the layer's input ``a[l−1]ₖ``, or 1 for a bias).
        terms: ``∂J/∂z[l]ⱼ · ∂z/∂θ`` per sample; ``gradient`` is their sum.
        backward: the entry of the gradient backpropagation produced.
    """

    symbol: str
    equation: str
    links: list[Link]
    local: Link
    terms: np.ndarray
    gradient: float
    backward: float

    def to_dict(self) -> dict:
        return {"symbol": self.symbol, "equation": self.equation,
                "links": [link.to_dict() for link in self.links], "local": self.local.to_dict(),
                "terms": self.terms.tolist(), "gradient": self.gradient,
                "backward": self.backward}


def _find(quantities: list[Quantity], symbol: str) -> Quantity:
    for quantity in quantities:
        if quantity.symbol == symbol:
            return quantity
    raise ValueError(f"chain_path: the explanation has no term {symbol} (a layer without a "
                     "bias has no ∂J/∂b)")


def _link(quantity: Quantity, unit: int | None, symbol: str | None = None,
          formula: str | None = None) -> Link:
    value = np.asarray(quantity.value, dtype=np.float64)
    value = value.reshape(len(value), -1)
    return Link(symbol or quantity.symbol, formula or quantity.formula,
                value if unit is None else value[:, unit], quantity.ok)


def chain_path(explanation: Explanation, layer: int, parameter: str, index: tuple[int, ...]
               ) -> ChainPath:
    """Follow ``∂J/∂θ`` from the loss to the entry ``index`` of ``W[layer]`` (``parameter="W"``)
    or ``b[layer]`` (``"b"``), through the explanation's terms.

    Args:
        explanation: ``cr.explain(...)`` of a network of ``Linear`` layers and activations.
        layer: the textbook layer number (1 = the first ``Linear``).
        parameter: ``"W"`` or ``"b"``.
        index: ``(j, k)`` for a weight (unit j, input k), ``(j,)`` for a bias; from 0.

    **Shape**: batch of m samples: links ``(m, units)`` or ``(m,)``, ``terms`` ``(m,)``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.explain.path import chain_path
        >>> from chainrule.explain.textbook import xor_example
        >>> model, x, y, loss = xor_example()
        >>> path = chain_path(cr.explain(model, x, y, loss, check=False), 1, "W", (1, 0))
        >>> path.symbol, [link.symbol for link in path.links][-3:]
        ('W[1]₂,₁', ['∂J/∂a[1]₂', "g'(z[1]₂)", '∂J/∂z[1]₂'])
        >>> abs(path.gradient - path.backward) < 1e-7
        True
    """
    affine = {v.layer: v for v in explanation.layers if v.role == "affine"}
    activations = {v.layer: v for v in explanation.layers if v.role == "activation"}
    others = [v.title for v in explanation.layers if v.role not in ("affine", "activation")]
    if others:
        raise ValueError(f"chain_path follows Linear layers and activations, not {others[0]}")
    if layer not in affine:
        raise ValueError(f"chain_path: no Linear layer {layer}; the model has layers "
                         f"{min(affine)} to {max(affine)}")
    if parameter not in ("W", "b"):
        raise ValueError(f"chain_path: parameter must be 'W' or 'b', got {parameter!r}")
    view = affine[layer]
    if not view.backward:
        raise ValueError("chain_path needs an explanation with its backward pass")
    weight = np.asarray(_find(view.forward, f"W[{layer}]").value)
    expected = weight.ndim if parameter == "W" else 1
    if len(index) != expected or not all(0 <= i < n for i, n in zip(index, weight.shape)):
        shape = weight.shape if parameter == "W" else weight.shape[:1]
        raise ValueError(f"chain_path: index {tuple(index)} is outside {parameter}[{layer}] of "
                         f"shape {shape}")

    unit = index[0]
    links = _links_down_to(explanation, affine, activations, layer, unit)
    dz = links[-1].value
    if parameter == "W":
        a_in = view.forward[0]
        local = _link(a_in, index[1], symbol=f"∂z[{layer}]{subscript(unit)}/∂W[{layer}]"
                      f"{subscript(*index)}", formula=f"{a_in.symbol}{subscript(index[1])}")
        equation = (f"∂J/∂W[{layer}]{subscript(*index)} = Σᵢ ∂J/∂z[{layer}]{subscript(unit)} · "
                    f"{a_in.symbol}{subscript(index[1])}")
    else:
        local = Link(f"∂z[{layer}]{subscript(unit)}/∂b[{layer}]{subscript(unit)}", "1",
                     np.ones_like(dz), None)
        equation = f"∂J/∂b[{layer}]{subscript(unit)} = Σᵢ ∂J/∂z[{layer}]{subscript(unit)}"
    terms = dz * local.value
    engine = np.asarray(_find(view.backward, f"∂J/∂{parameter}[{layer}]").value)
    return ChainPath(f"{parameter}[{layer}]{subscript(*index)}", equation, links, local, terms,
                     float(terms.sum()), float(engine[tuple(index)]))


def _links_down_to(explanation: Explanation, affine: dict[int, LayerView],
                   activations: dict[int, LayerView], layer: int, unit: int) -> list[Link]:
    """The terms from ``∂J/∂h`` down to ``∂J/∂z[layer]`` (the chosen unit's column at
    ``layer``)."""
    top = max(affine)
    output = explanation.loss_view.forward[0].formula.removeprefix("model output ")
    dh = _find(explanation.loss_view.backward, "∂J/∂h")
    links: list[Link] = []
    for k in range(top, layer - 1, -1):
        chosen = unit if k == layer else None
        mark = subscript(unit) if k == layer else ""
        # The gradient arriving at layer k's output: from the loss, or from layer k + 1.
        if k == top:
            arriving = _link(dh, chosen, formula=f"{dh.formula}  (h = {output})")
        else:
            into = affine[k + 1]
            arriving = _link(_find(into.backward, f"∂J/∂{into.forward[0].symbol}"), chosen)
        arriving.symbol += mark
        links.append(arriving)
        if k in activations:
            backward = activations[k].backward
            slope, dz = backward[1], backward[2]
            links.append(_link(slope, chosen, symbol=f"g'(z[{k}]{mark})"))
            links.append(_link(dz, chosen, symbol=f"∂J/∂z[{k}]{mark}"))
    return links


def check_entry(model: Module, x, y, loss, name: str, index: tuple[int, ...],
                eps: float = 1e-6) -> float:
    """``∂J/∂θ`` for one entry of the parameter ``name`` by central differences, in float64:
    ``(J(θ + ε) − J(θ − ε)) / 2ε`` on a float64 copy of ``model`` (the model is unchanged).

    Example:
        >>> from chainrule.explain.path import check_entry
        >>> from chainrule.explain.textbook import xor_example
        >>> model, x, y, loss = xor_example()
        >>> round(check_entry(model, x, y, loss, "0.weight", (1, 0)), 6)
        0.003744
    """
    twin = copy.deepcopy(model).astype(np.float64)
    parameters = dict(twin.named_parameters())
    if name not in parameters:
        raise ValueError(f"check_entry: the model has no parameter {name!r}; it has "
                         f"{', '.join(parameters)}")
    data = parameters[name].data

    def as_float64(value) -> Tensor:
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        return Tensor(array.astype(np.float64) if array.dtype.kind == "f" else array)

    inputs, target = as_float64(x), as_float64(y)
    state = cr_random.get_rng_state()
    original = float(data[index])
    values = []
    try:
        with no_grad():
            for shifted in (original + eps, original - eps):
                data[index] = shifted
                cr_random.set_rng_state(state)  # the same dropout mask, if any, each time
                values.append(float(loss(model_output(twin(inputs)), target).item()))
    finally:
        data[index] = original
        cr_random.set_rng_state(state)
    return (values[0] - values[1]) / (2 * eps)
