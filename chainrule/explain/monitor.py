"""``GradientMonitor``: how gradients flow through each layer over training, and where the
first NaN or Inf came from.

Per layer (a module with parameters of its own) and per epoch it records the mean gradient
norm per batch, ``‖∇θ J‖``, and the mean update-to-weight ratio ``‖Δθ‖ / ‖θ‖`` of the
optimizer's steps (about 1e-3 is healthy; far below, the layer barely learns; near 1, it
thrashes). Per activation module: the fraction of dead ReLU units (a feature, or an image
channel, that output 0 for every sample of the epoch) and the fraction of sigmoid/tanh outputs
in saturation (within ``saturation`` of the bounds, where g' has all but vanished).

The hot path stays cheap: per batch, one dot product per gradient and per weight, one copy
of the weights (the update and, should a NaN appear, the replay need the weights before the
step) and one reduction per tracked activation: about 0.1 ms a batch for a 50,000-parameter
MLP, which matters only where a training step itself takes about a millisecond.

Only when the loss, a gradient or a weight stops being finite is the batch replayed, with the
pre-step weights and the same random state, through explain's recorder, which names the first
layer or op whose forward output, or backward gradient, was not finite.

It only reads: training with and without it gives bitwise identical weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import random as cr_random
from ..autograd import is_grad_enabled
from ..backend import squared_norm
from ..tensor import Tensor
from ..train.callbacks import Callback
from . import plots
from . import trace as _trace

__all__ = ["GradientMonitor"]

_DEAD_KINDS = ("ReLU",)
_SATURATING_KINDS = ("Sigmoid", "Tanh")


@dataclass
class _Layer:
    name: str
    kind: str
    params: list
    previous: list = field(default_factory=list)  # weights before the current step
    previous_sq: float = 0.0  # ‖θ‖² of ``previous``
    grad_norms: float = 0.0  # sums over the epoch's batches
    ratios: float = 0.0
    batches: int = 0
    ratio_batches: int = 0  # batches whose weights were not all zero: a ratio exists


@dataclass
class _Activation:
    name: str
    kind: str
    alive: np.ndarray | None = None  # per unit: fired at least once this epoch
    saturated: int = 0
    count: int = 0


def _plain(method):
    """A plain function calling ``method``, to register as a hook: copy.deepcopy(model)
    (explain's gradient check makes one) shares functions but would deep-copy a bound
    method's object, this monitor with the run's data, optimizer and open files."""
    def hook(*args):
        return method(*args)

    return hook


def _mean(total: float, count: int) -> float:
    return total / count if count else float("nan")


def _finite(array) -> bool:
    return array is None or bool(np.isfinite(array).all())


class GradientMonitor(Callback):
    """A ``cr.fit`` callback: per-layer gradient norms, update-to-weight ratios, dead ReLUs,
    sigmoid/tanh saturation per epoch, and the first layer or op where a NaN or Inf appeared.

    Args:
        saturation: a sigmoid output within this distance of 0 or 1, or a tanh output within
            it of ±1, counts as saturated (there ``g'`` is at most 4% (σ) or 2% (tanh) of its
            largest value at the default 0.01).
        diagnose: replay the first batch whose loss, gradients or weights are not finite to
            name where the NaN or Inf started (``nonfinite``).
        verbose: print that finding when it is made.

    Attributes:
        layers: layer names (module names), in the model's order.
        history: per-epoch lists, see ``to_dict``.
        nonfinite: None, or where the first NaN/Inf appeared: ``epoch``, ``batch``, ``stage``
            (``"input"``, ``"forward"``, ``"loss"``, ``"backward"`` or ``"update"``),
            ``layer``, ``kind`` and a one-line ``message``.

    **Shape**: any model; parameters are grouped by the module that owns them, activations
    must be ``ReLU``/``Sigmoid``/``Tanh`` modules to be tracked (units: axis 1 of their output).

    Example:
        >>> import numpy as np, chainrule as cr
        >>> model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 2))
        >>> monitor = cr.explain.GradientMonitor()
        >>> x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
        >>> _ = cr.fit(model, (x, (x[:, 0] > 0).astype(np.int64)), loss="cross_entropy",
        ...            optimizer="sgd", epochs=2, progress=False, callbacks=[monitor])
        >>> sorted(monitor.to_dict()["grad_norm"])
        ['0', '2']
    """

    def __init__(self, saturation: float = 0.01, diagnose: bool = True, verbose: bool = True):
        if not 0 < saturation < 0.5:
            raise ValueError(f"GradientMonitor: saturation must be in (0, 0.5), got {saturation}")
        self.saturation, self.diagnose, self.verbose = saturation, diagnose, verbose
        self._layers: list[_Layer] = []
        self._activations: dict[int, _Activation] = {}
        self._handles: list = []
        self._active = False
        self._stash: dict = {}
        self._reset_history()

    # ------------------------------------------------------------------ results
    def _reset_history(self) -> None:
        # The monitor's own tables replace the run's History that fit hands every callback
        self.history: dict[str, dict[str, list]] = {  # type: ignore[assignment]
            "grad_norm": {}, "update_ratio": {}, "dead_relu": {}, "saturation": {}}
        self.epochs: list[int] = []
        self.kinds: dict[str, str] = {}
        self.nonfinite: dict | None = None

    @property
    def layers(self) -> list[str]:
        return list(self.history["grad_norm"])

    def to_dict(self) -> dict:
        """Plain data: ``epochs``; ``layers`` and their ``kinds``; per layer and epoch
        ``grad_norm`` and ``update_ratio``; per activation module ``dead_relu`` (ReLU) or
        ``saturation`` (sigmoid, tanh), fractions in [0, 1]; and ``nonfinite``."""
        return {"epochs": list(self.epochs), "layers": self.layers, "kinds": dict(self.kinds),
                **{key: {name: list(values) for name, values in table.items()}
                   for key, table in self.history.items()},
                "nonfinite": None if self.nonfinite is None else dict(self.nonfinite)}

    def plot(self, path=None, title: str = "") -> bytes | None:
        """The gradient-flow plot as PNG bytes (written to ``path`` when given); None without
        matplotlib."""
        png = plots.gradient_flow({title: self.to_dict()})
        if png is not None and path is not None:
            with open(path, "wb") as file:
                file.write(png)
        return png

    def to_html(self, path=None, explanation=None) -> str:
        """A self-contained HTML report of the monitor (and of ``explanation`` when given)."""
        from .render_html import render_html

        return render_html(explanation, path, monitor=self)

    def state_dict(self) -> dict:
        return {"monitor": self.to_dict()}

    def load_state_dict(self, state: dict) -> None:
        data = state["monitor"]
        self.epochs, self.kinds = list(data["epochs"]), dict(data["kinds"])
        for key in self.history:
            self.history[key] = {name: list(values) for name, values in data[key].items()}
        self.nonfinite = data["nonfinite"]

    # ------------------------------------------------------------------ set-up
    def on_train_begin(self, logs=None):
        on = {str(p.device) for p in self.model.parameters()} - {"cpu"}
        if on:  # it reads every step's arrays with NumPy and replays steps on the host
            raise RuntimeError(f"GradientMonitor watches training on the CPU only; the model "
                               f"is on {', '.join(sorted(on))}: train it on the CPU to watch it")
        self._remove_hooks()
        self._reset_history()
        owners = {}
        for name, module in self.model.named_modules():
            params = [p for _, p in module.named_parameters(recurse=False)]
            if params:
                owners[name or type(module).__name__] = (module, params)
            kind = type(module).__name__
            if kind in _DEAD_KINDS + _SATURATING_KINDS and not module._modules:
                label = name or kind
                self._activations[id(module)] = _Activation(label, kind)
                self.kinds[label] = kind
                table = "dead_relu" if kind in _DEAD_KINDS else "saturation"
                self.history[table][label] = []
                self._handles.append(module.register_forward_hook(
                    _plain(self._activation_hook)))
        self._layers = [_Layer(name, type(module).__name__, params)
                        for name, (module, params) in owners.items()]
        for layer in self._layers:
            self.kinds[layer.name] = layer.kind
            self.history["grad_norm"][layer.name] = []
            self.history["update_ratio"][layer.name] = []
        if self.diagnose:
            self._handles.append(self.model.register_forward_pre_hook(_plain(self._stash_input)))
            self._handles.append(self.model.register_forward_hook(_plain(self._stash_output)))

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles, self._activations = [], {}

    def _counting(self, module) -> bool:
        """Training batches only: not validation, not explain's or this monitor's replays,
        not the float64 copies the gradient check runs."""
        return (self._active and module.training and is_grad_enabled()
                and not _trace.is_recording())

    # ------------------------------------------------------------------ hooks
    def _activation_hook(self, module, inputs, output):
        stat = self._activations.get(id(module))
        if stat is None or not isinstance(output, Tensor) or not self._counting(module):
            return
        a = output.data
        if stat.kind in _DEAD_KINDS:
            # a unit fired if its largest output over the batch (and positions) is positive
            fired = a.max(axis=tuple(i for i in range(a.ndim) if i != 1)) > 0 if a.size \
                else None
            if stat.alive is None or fired is None or stat.alive.shape != fired.shape:
                stat.alive = fired
            else:
                np.logical_or(stat.alive, fired, out=stat.alive)
        else:
            low = self.saturation if stat.kind == "Sigmoid" else self.saturation - 1
            stat.saturated += int(np.count_nonzero(a < low)) + int(
                np.count_nonzero(a > 1 - self.saturation))
        stat.count += a.size

    def _stash_input(self, module, inputs):
        if module is self.model and self._counting(module):
            self._stash = {"x": inputs[0] if inputs else None,
                           "rng": cr_random.get_rng_state(), "grad_h": None}

    def _stash_output(self, module, inputs, output):
        if module is self.model and self._counting(module) and isinstance(output, Tensor) \
                and output.grad_fn is not None:
            stash = self._stash

            def keep(grad):  # a copy: the array may become a .grad that optimizers update
                stash["grad_h"] = np.array(grad)

            output.register_hook(keep)

    # ------------------------------------------------------------------ per epoch and batch
    def on_epoch_begin(self, epoch, logs=None):
        for layer in self._layers:
            layer.previous = [np.array(p.data) for p in layer.params]
            layer.previous_sq = sum(squared_norm(w) for w in layer.previous)
            layer.grad_norms = layer.ratios = 0.0
            layer.batches = layer.ratio_batches = 0
        for stat in self._activations.values():
            stat.alive, stat.saturated, stat.count = None, 0, 0
        self._active = True

    def on_batch_end(self, batch, logs=None):
        # Squared norms in one BLAS dot each; a non-finite sum (or one that overflowed)
        # sends the batch to the rare, careful path.
        sums = []
        loss = (logs or {}).get("loss", 0.0)
        finite = math.isfinite(loss)
        for layer in self._layers:
            grad_sq = weight_sq = 0.0
            for p in layer.params:
                if p.grad is not None:
                    grad_sq += squared_norm(p.grad)
                weight_sq += squared_norm(p.data)
            sums.append((grad_sq, weight_sq))
            finite = finite and math.isfinite(grad_sq + weight_sq)
        if not finite and self.nonfinite is None and not self._all_finite(loss):
            self._find_nonfinite(batch, loss)
        for layer, (grad_sq, weight_sq) in zip(self._layers, sums):
            step_sq = 0.0
            for p, before in zip(layer.params, layer.previous):
                np.subtract(before, p.data, out=before)  # reuses the copy: no allocation
                step_sq += squared_norm(before)
                np.copyto(before, p.data)
            layer.grad_norms += math.sqrt(grad_sq)
            if layer.previous_sq:
                layer.ratios += math.sqrt(step_sq / layer.previous_sq)
                layer.ratio_batches += 1
            layer.previous_sq = weight_sq
            layer.batches += 1

    def _all_finite(self, loss: float) -> bool:
        """Whether the loss, every gradient and every weight are finite (float32 squares of
        values above ~1e19 overflow, so the sums alone cannot say)."""
        return math.isfinite(loss) and all(
            _finite(p.grad) and _finite(p.data) for layer in self._layers for p in layer.params)

    def on_epoch_end(self, epoch, logs=None):
        self._active = False
        self.epochs.append(int(epoch))
        for layer in self._layers:
            self.history["grad_norm"][layer.name].append(_mean(layer.grad_norms, layer.batches))
            self.history["update_ratio"][layer.name].append(
                _mean(layer.ratios, layer.ratio_batches))
        for stat in self._activations.values():
            if stat.kind in _DEAD_KINDS:
                dead = float("nan") if stat.alive is None else float(1 - np.mean(stat.alive))
                self.history["dead_relu"][stat.name].append(dead)
            else:
                share = stat.saturated / stat.count if stat.count else float("nan")
                self.history["saturation"][stat.name].append(share)

    def on_train_end(self, logs=None):
        self._active = False
        self._remove_hooks()
        self._stash = {}

    # ------------------------------------------------------------------ NaN / Inf
    def _find_nonfinite(self, batch: int, loss: float) -> None:
        epoch = len(self.epochs)
        finding = self._replay() if self.diagnose else None
        if finding is None:
            finding = self._from_parameters(math.isfinite(loss))
        stage, layer, kind, message = finding
        self.nonfinite = {"epoch": epoch, "batch": int(batch), "stage": stage, "layer": layer,
                          "kind": kind, "message": message}
        if self.verbose:
            print(f"GradientMonitor: epoch {epoch + 1}, batch {batch}: {message}")

    def _from_parameters(self, loss_finite: bool):
        """What the parameters alone tell: a non-finite gradient, or a step that overflowed."""
        for layer in self._layers:
            for p in layer.params:
                if not _finite(p.grad):
                    return ("backward", layer.name, layer.kind,
                            f"the gradient of a parameter of {layer.name!r} ({layer.kind}) is "
                            "not finite")
        for layer in self._layers:
            for p, before in zip(layer.params, layer.previous):
                if not _finite(p.data) and _finite(before):
                    return ("update", layer.name, layer.kind,
                            f"the optimizer step made a parameter of {layer.name!r} "
                            f"({layer.kind}) not finite; its gradient was finite (learning "
                            "rate too large?)")
        if not loss_finite:
            return "loss", None, None, "the loss is not finite"
        return "unknown", None, None, "a value stopped being finite"

    def _replay(self):
        """Run the batch again with the weights it saw and the same random state, recording
        every step; the first non-finite forward output, or backward gradient, is the origin."""
        stash = self._stash
        if stash.get("x") is None:
            return None
        params = [(p, p.data, before) for layer in self._layers
                  for p, before in zip(layer.params, layer.previous)]
        state = cr_random.get_rng_state()
        grad_h = stash["grad_h"]
        try:
            for p, _, before in params:
                p.data = before
            cr_random.set_rng_state(stash["rng"])
            upstream = None if grad_h is None else Tensor(grad_h)

            def objective(output, _):  # ∂/∂output of Σ output ⊙ g is exactly g
                return (output * (upstream if upstream is not None else 1.0)).sum()

            with np.errstate(all="ignore"):  # training has already warned about these values
                recorded = _trace.record(self.model, stash["x"], Tensor(np.zeros(0)), objective)
        finally:
            for p, data, _ in params:
                p.data = data
            cr_random.set_rng_state(state)
        return _origin(recorded, grad_h)


def _origin(recorded, grad_h):
    """(stage, layer, kind, message) of the first non-finite value, or None if all were."""
    if not _finite(recorded.inputs):
        return "input", None, None, "the input batch holds NaN or Inf"
    for step in recorded.steps:
        if not _finite(step.output.data):
            where = "op" if step.is_op else "layer"
            return ("forward", step.name, step.kind,
                    f"forward: the output of {where} {step.name!r} ({step.kind}) is the first "
                    "that is not finite")
    if grad_h is None:
        return None
    if not _finite(grad_h):
        return ("loss", None, None,
                "the loss (or its gradient ∂J/∂h) is not finite though the model's output is")
    for step in reversed(recorded.steps):
        grads = [*(v.grad for v in step.inputs), *step.grad_params.values()]
        if not all(_finite(g) for g in grads):
            where = "op" if step.is_op else "layer"
            return ("backward", step.name, step.kind,
                    f"backward: {where} {step.name!r} ({step.kind}) turned a finite gradient "
                    "into one that is not finite")
    return None
