"""Layer views of a recorded pass, in the textbook's notation.

Each recorded step becomes a layer view with its forward quantities (``z[l] = W[l] a[l-1] +
b[l]``, ``a[l] = g(z[l])``) and its backward terms, in reverse order (``∂J/∂a[l]``, ``∂J/∂z[l] =
∂J/∂a[l] ⊙ g'(z[l])``, ``∂J/∂W[l]``, ``∂J/∂b[l]``, ``∂J/∂a[l-1]``). Every term that has a
textbook formula is computed from that formula, in float64, from the values that flowed
forward, and compared with what the backward rules produced; terms without one (a
convolution, a reshape) show the backward rules' values under the op's name and shapes.

Every array has one symbol (``symbols.Names``) and ``∂J/∂x`` is always the whole gradient of
``x``. A value read by several steps (the input of a residual block) receives the sum of what
each sends back: each reader shows its share as ``∂J/∂x via y`` (y being what it made), and
the sum appears once, where ``x`` was made, checked against backward when every share has a
formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ops.elementwise import unbroadcast
from .explanation import Explanation, LayerName, LayerView, Quantity
from .formulas import ACTIVATIONS
from .symbols import Names, unprimed
from .trace import Step, Trace, Value

__all__ = ["build", "title"]


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


def _rows(value: np.ndarray) -> np.ndarray:
    """Batches are rows: fold every leading axis into one."""
    value = np.asarray(value, dtype=np.float64)
    return value.reshape(-1, value.shape[-1]) if value.ndim > 1 else value.reshape(1, -1)


def _float64(value: Value) -> np.ndarray:
    return np.asarray(value.data, dtype=np.float64)


# How a module's parameters are written; other parameters keep their own names.
_AFFINE = {"weight": "W", "bias": "b"}
_NORM = {"weight": "γ", "bias": "β"}
_PARAMETER_LETTERS = {"Linear": _AFFINE, "Conv1d": _AFFINE, "Conv2d": _AFFINE,
                      "BatchNorm1d": _NORM, "BatchNorm2d": _NORM, "LayerNorm": _NORM,
                      "Embedding": {"weight": "E"}}
# Free ops written as formulas; the others as Name(arguments).
_BINARY = {"Add": "{} + {}", "Sub": "{} − {}", "Mul": "{} ⊙ {}", "Div": "{} / {}"}


def title(layer: int, kind: str, name: str = "", note: str = "") -> str:
    """A view's heading: a module's own name is shown, its position in a ``Sequential`` (a
    bare number) is not, since layers are numbered by the textbook's l only.

    Example:
        >>> title(1, "Linear", "fc1"), title(2, "Linear", "3")
        ('layer 1 · Linear (fc1)', 'layer 2 · Linear')
    """
    details = [part for part in (name, note) if part and part != kind and not part.isdigit()]
    return f"layer {layer} · {kind}" + (f" ({', '.join(details)})" if details else "")


_PRIME_NOTE = "′ marks a value made from another without parameters: "


@dataclass
class _Term:
    """What a step tells the backward pass about one value it read: this step's share of
    ∂J/∂(value), its formula and its numbers computed from it (None: no formula)."""

    value: Value
    formula: str = ""
    derived: np.ndarray | None = None


@dataclass
class _Pending:
    """A view whose backward terms wait until every reader of every value is known."""

    view: LayerView
    step: Step
    made: str  # the symbol of the step's output
    parameters: list[Quantity]
    terms: list[_Term]


class _Builder:
    """Names every value as the steps come (``add``, forward order), then writes each view's
    backward terms (``finish``) once every reader of every value is known."""

    def __init__(self, trace: Trace, model_name: str):
        self.trace, self.model_name = trace, model_name
        self.names = Names()
        self.names.give(trace.input, "a[0]")
        self.layer = 0
        self.readers: dict[Value, list[_Pending]] = {}
        self.producers: dict[Value, _Pending] = {}
        self.made_at: dict[Value, int] = {trace.input: -1}  # the step that made a value
        self.data: set[Value] = {trace.input}  # values computed from the input
        self.shares: dict[Value, list[tuple[str, np.ndarray | None]]] = {}
        self.parameter_symbols: dict[tuple[str, str], str] = {}  # (module, name) -> symbol
        self.layer_names: dict[str, LayerName] = {}  # check_model's layer name -> ours
        self.notes: dict[str, str] = {}  # how to read the notation, with an example each

    # ---------------------------------------------------------------- forward
    def symbol(self, value: Value, definitions: list[Quantity]) -> str:
        """The symbol of a value a step reads, defining it (into ``definitions``) at its
        first reading when no step made it: a constant, a parameter, a view of the input."""
        if value in self.names:
            return self.names[value]
        if value.role == "view":
            symbol = self.names.give(value, self.names.primed("a[0]"))
            definitions.append(Quantity(symbol, "a view of a[0]", value.data))
            self.notes.setdefault("prime", _PRIME_NOTE + f"{symbol} = a view of a[0]")
        elif value.role == "parameter":
            module, _, short = value.name.rpartition(".")
            symbol = self.names.give(value, f"{short}[{max(self.layer, 1)}]")
            definitions.append(Quantity(symbol, f"parameter {value.name}", value.data))
            kind = self.trace.modules.get(module, self.model_name)
            self._label(module, title(max(self.layer, 1), kind, module), short, symbol)
        else:
            symbol = self.names.constant(value)
            definitions.append(Quantity(symbol, "constant", value.data))
        return symbol

    def _label(self, module: str, heading: str, parameter: str, symbol: str) -> None:
        """Remember how the gradient check should name a parameter (at its first use)."""
        name = self.layer_names.setdefault(module or self.model_name,
                                           LayerName(heading, len(self.made_at)))
        name.symbols.setdefault(parameter, symbol)

    def add(self, step: Step) -> _Pending:
        definitions: list[Quantity] = []
        arguments = [self.symbol(v, definitions) for v in step.inputs]
        if step.params:
            self.layer += 1
        layer, kind = self.layer, step.kind
        # A step joining two paths, one of them a value an earlier step already read: the
        # residual sum x + F(x) reads x after F did.
        carried = [v for v in dict.fromkeys(step.inputs) if v.role not in ("constant",
                                                                            "parameter")]
        skipped = [self.names[v] for v in carried if v in self.readers]
        skip = "skip connection from " + ", ".join(skipped) if len(carried) > 1 and skipped \
            else ""
        heading = title(layer, kind, "" if step.is_op else step.name, skip)
        parameters = self._parameters(step, heading)
        if kind == "Linear" and "weight" in step.params and len(step.inputs) == 1:
            pending = self._affine(step, heading, arguments[0], definitions, parameters)
        elif kind in ACTIVATIONS and len(step.inputs) == 1:
            pending = self._activation(step, heading, arguments[0], definitions)
        else:
            pending = self._other(step, heading, arguments, definitions, parameters)
        pending.view.ops, pending.view.module = step.ops, "" if step.is_op else step.name
        for term in pending.terms:
            self.readers.setdefault(term.value, []).append(pending)
            share = f"∂J/∂{self.names[term.value]} via {pending.made}"
            self.shares.setdefault(term.value, []).append((share, term.derived))
        from_data = any(v in self.data or v.role == "view" for v in step.inputs)
        for value in (step.output, *step.extra_outputs):
            self.producers[value] = pending
            self.made_at[value] = len(self.made_at)
            if from_data:
                self.data.add(value)
        return pending

    def _parameters(self, step: Step, heading: str) -> dict[str, str]:
        """Symbols of the step's own parameters: ``W[l]``, ``b[l]``, ``γ[l]``, ``E[l]`` or
        ``name[l]``; a module called twice keeps the symbols of its first call."""
        letters = _PARAMETER_LETTERS.get(step.kind, {})
        symbols = {}
        for name in step.params:
            key = (step.name, name)
            if key not in self.parameter_symbols:
                self.parameter_symbols[key] = f"{letters.get(name, name)}[{self.layer}]"
                self._label(step.name, heading, name, self.parameter_symbols[key])
            symbols[name] = self.parameter_symbols[key]
        return symbols

    def _output(self, step: Step, symbol: str, formula: str) -> str:
        made = self.names.give(step.output, symbol)
        if made != unprimed(made):
            self.notes.setdefault("prime", _PRIME_NOTE + f"{made} = {formula}")
        return made

    def _affine(self, step, heading, a_in, definitions, symbols) -> _Pending:
        layer, w, b = self.layer, symbols["weight"], symbols.get("bias")
        formula = f"{w} {a_in}" + (f" + {b}" if b else "")
        z = self._output(step, f"z[{layer}]", formula)
        x = step.inputs[0]
        view = LayerView(heading, layer, "affine")
        view.forward = [definitions[0] if definitions else Quantity(a_in, "input", x.data),
                        Quantity(w, "weight", step.params["weight"]),
                        *([Quantity(b, "bias", step.params["bias"])] if b else []),
                        Quantity(z, formula, step.output.data)]
        dz = step.output.grad
        if dz is None:
            return _Pending(view, step, z, [], [])
        rows, a = _rows(dz), _rows(x.data)
        parameters = [_verify(f"∂J/∂{w}", f"∂J/∂{z}ᵀ {a_in}  (Σ over rows)", rows.T @ a,
                              step.grad_params.get("weight"), "grad_parameter")]
        if b:
            parameters.append(_verify(f"∂J/∂{b}", f"Σ over rows of ∂J/∂{z}", rows.sum(axis=0),
                                      step.grad_params.get("bias"), "grad_parameter"))
        derived = (rows @ np.asarray(step.params["weight"], np.float64)).reshape(x.data.shape)
        return _Pending(view, step, z, parameters, [_Term(x, f"∂J/∂{z} {w}", derived)])

    def _activation(self, step, heading, z_in, definitions) -> _Pending:
        g = ACTIVATIONS[step.kind]
        symbol = f"a[{self.layer}]" if self.layer else self.names.primed(z_in)
        formula = f"{g.symbol}({z_in})"
        a_out = self._output(step, symbol, formula)
        view = LayerView(heading, self.layer, "activation")
        view.forward = [*definitions, Quantity(a_out, formula, step.output.data)]
        if step.output.grad is None:
            return _Pending(view, step, a_out, [], [])
        slope = g.derivative(_float64(step.inputs[0]), _float64(step.output), step.settings)
        derived = np.asarray(step.output.grad, np.float64) * slope
        return _Pending(view, step, a_out, [Quantity(f"g'({z_in})", g.derivative_text, slope)],
                        [_Term(step.inputs[0], f"∂J/∂{a_out} ⊙ g'({z_in})", derived)])

    def _other(self, step, heading, arguments, definitions, symbols) -> _Pending:
        layer = self.layer
        formula = self._formula(step, arguments)
        if step.output.name:  # what the module returned after its output: an LSTM's h_n
            formula = f"{step.output.name} of {formula}"
        out = self._output(step, f"z[{layer}]" if step.params
                           else self.names.primed(self._base(step, arguments)), formula)
        view = LayerView(heading, layer, "other")
        lettered = _PARAMETER_LETTERS.get(step.kind, {})
        view.forward = [*definitions,
                        *(Quantity(symbols[n], n if n in lettered else "parameter", value)
                          for n, value in step.params.items()),
                        Quantity(out, formula, step.output.data)]
        for value in step.extra_outputs:
            # a returned state has a name of its own (h_n); other values are primed
            wanted = f"{value.name}[{layer}]" if value.name.isidentifier() \
                else self.names.primed(out)
            extra = self.names.give(value, wanted)
            view.forward.append(Quantity(extra, f"{value.name} of {step.kind}", value.data))
        grad = step.output.grad
        parameters = [Quantity(f"∂J/∂{symbols[n]}", f"{step.kind}.backward", g,
                               kind="grad_parameter") for n, g in step.grad_params.items()]
        derived = self._derived(step, arguments, out, grad)
        # one term per value read, however many of its arguments it is
        terms = {v: _Term(v, *derived.get(i, ("", None)))
                 for i, v in enumerate(step.inputs) if v.role != "constant"}
        return _Pending(view, step, out, parameters, list(terms.values()))

    def _base(self, step: Step, arguments: list[str]) -> str:
        """The symbol a parameter-free step's output is named after: of the values it read
        that carry the input's data, the one made last (the main path, not the skip); of
        the others (a slice of a weight), the one made last; else its first argument."""
        made = [(v in self.data, self.made_at.get(v, -1), s)
                for v, s in zip(step.inputs, arguments) if v.role != "constant"]
        return max(made)[2] if made else (arguments[0] if arguments else "v")

    @staticmethod
    def _formula(step: Step, arguments: list[str]) -> str:
        if step.is_op and step.kind in _BINARY and len(arguments) == 2:
            return _BINARY[step.kind].format(*arguments)
        if step.is_op and step.kind == "Linear" and len(arguments) in (2, 3):
            return f"{arguments[1]} {arguments[0]}" + (f" + {arguments[2]}"
                                                       if len(arguments) == 3 else "")
        if step.is_op and step.kind == "Where" and len(arguments) == 2:
            return f"{arguments[0]} where the mask holds, else {arguments[1]}"
        settings = [f"{k}={v[0] if isinstance(v, tuple) and len(v) == 1 else v}"
                    for k, v in step.settings.items() if k in ("axis", "axes", "keepdims")]
        return f"{step.kind}({', '.join(arguments + settings)})"

    @staticmethod
    def _derived(step: Step, arguments: list[str], out: str, grad
                 ) -> dict[int, tuple[str, np.ndarray]]:
        """Shares of ∂J/∂(input) with a formula: a sum, a difference, a product."""
        if grad is None or not step.is_op or step.kind not in ("Add", "Sub", "Mul") \
                or len(step.inputs) != 2 or step.inputs[0] is step.inputs[1]:
            return {}
        g = np.asarray(grad, np.float64)
        x, y = (_float64(v) for v in step.inputs)
        if step.kind == "Add":
            shares = [(f"∂J/∂{out}", g), (f"∂J/∂{out}", g)]
        elif step.kind == "Sub":
            shares = [(f"∂J/∂{out}", g), (f"−∂J/∂{out}", -g)]
        else:
            shares = [(f"∂J/∂{out} ⊙ {arguments[1]}", g * y),
                      (f"∂J/∂{out} ⊙ {arguments[0]}", g * x)]
        return {i: (text, unbroadcast(share, v.data.shape))
                for i, ((text, share), v) in enumerate(zip(shares, step.inputs))}

    # ---------------------------------------------------------------- backward
    def total(self, value: Value, kind: str) -> Quantity:
        """∂J/∂(value): what its one reader sends, or the sum of its readers' shares."""
        symbol = f"∂J/∂{self.names[value]}"
        shares = self.shares.get(value, [])
        if value is self.trace.output and not shares:
            return Quantity(symbol, f"∂J/∂h (h is {self.names[value]})", value.grad, kind=kind)
        if len(shares) == 1 and value is not self.trace.output:
            return Quantity(symbol, "from the layer above", value.grad, kind=kind)
        if value is self.trace.output:
            return Quantity(symbol, f"∂J/∂h from the loss + what the {len(shares)} steps "
                                    "reading it send (backward's sum)", value.grad, kind=kind)
        derived = [d for _, d in shares if d is not None]
        if len(derived) == len(shares):
            return _verify(symbol, " + ".join(s for s, _ in shares), np.sum(derived, axis=0),
                           value.grad, kind)
        return Quantity(symbol, f"Σ over the {len(shares)} steps reading it (backward's sum)",
                        value.grad, kind=kind)

    def finish(self, pending: _Pending) -> None:
        step = pending.step
        made = [v for v in (step.output, *step.extra_outputs) if v.grad is not None]
        if not made:  # no gradient reached what this step made
            return
        rows = [self.total(value, "grad_output") for value in made]
        rows += pending.parameters
        for term in pending.terms:
            symbol = f"∂J/∂{self.names[term.value]}"
            readers = self.readers[term.value]
            if len(readers) == 1 and term.value is not self.trace.output:
                if term.derived is not None:
                    rows.append(_verify(symbol, term.formula, term.derived, term.value.grad,
                                        "grad_input"))
                elif term.value.grad is not None:
                    rows.append(Quantity(symbol, f"{step.kind}.backward", term.value.grad,
                                         kind="grad_input"))
                continue
            if term.derived is not None:
                rows.append(Quantity(f"{symbol} via {pending.made}", term.formula, term.derived,
                                     kind="grad_share"))
                self.notes.setdefault("share", f"{symbol} via {pending.made} is the part of "
                                      f"{symbol} that flows back through {pending.made}: "
                                      f"{self.names[term.value]} is read more than once, and "
                                      f"{symbol} is the sum of such parts")
            if term.value not in self.producers and readers[0] is pending \
                    and term.value.grad is not None:
                rows.append(self.total(term.value, "grad_input"))
        pending.view.backward = rows


def build(trace: Trace, model_name: str) -> Explanation:
    """Turn a recorded pass into layer views with textbook symbols."""
    builder = _Builder(trace, model_name)
    pending = [builder.add(step) for step in trace.steps]
    for item in pending:
        builder.finish(item)
    formula = trace.loss_formula
    loss_view = LayerView(f"loss · {formula.name}", builder.layer + 1, "loss")
    loss_view.forward = [Quantity("h", f"model output {builder.names[trace.output]}",
                                  trace.output.data),
                         Quantity("y", "target", trace.target),
                         Quantity("J", formula.text.removeprefix("J = "),
                                  np.asarray(trace.loss))]
    if formula.gradient is not None:
        derived = formula.gradient(_float64(trace.output))
        loss_view.backward = [_verify("∂J/∂h", formula.gradient_text.removeprefix("∂J/∂h = "),
                                      derived, trace.output.grad, "grad_input")]
    elif trace.output.grad is not None:
        loss_view.backward = [Quantity("∂J/∂h", formula.gradient_text, trace.output.grad,
                                       kind="grad_input")]
    batch = int(np.shape(trace.inputs)[0]) if np.ndim(trace.inputs) else 1
    notes = list(builder.notes.values())
    return Explanation(model_name, batch, [p.view for p in pending], trace.loss, formula,
                       loss_view, notes=notes, layer_names=builder.layer_names)

