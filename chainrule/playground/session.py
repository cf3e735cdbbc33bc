"""One page's training session: a real chainrule network learning a playground data set.

The session steps its network with the library's own modules, losses and optimizers, keeps a
history (losses, accuracies and per-layer gradient norms ``‖∇J‖``, the quantity
``GradientMonitor`` records), and answers the page's two questions: what to draw now
(``frame``: the decision boundary and every neuron's activation over a grid of the plane,
the weights, the new history points) and how one weight's gradient came about (``explain``:
its chain-rule path through ``cr.explain`` for the last step's batch and weights, its
central-difference check and the optimizer's update). All numbers are computed here; the page
only draws them.

A session is used from several server threads: every public method takes its lock.
"""

from __future__ import annotations

import base64
import math
import threading
import time

import numpy as np

from ..autograd import no_grad
from ..backend import squared_norm
from ..explain import explain as explain_pass
from ..explain.path import chain_path, check_entry
from ..nn import Linear
from ..optim import SGD, Adam
from ..tensor import Tensor
from . import datasets
from .config import Config
from .network import build_loss, build_model, predictions, targets

__all__ = ["Session", "GRID", "NoStepYet"]

GRID = 48  # decision-boundary resolution; neuron maps use every second point (24 × 24)
HISTORY_POINTS = 600  # beyond this the history is thinned to every second point
TOLERANCE = (1e-6, 1e-3)  # (atol, rtol) of a float32 backward gradient vs float64 differences


class NoStepYet(RuntimeError):
    """The network has not taken a step, so there is no batch to explain."""


def _encode(levels: np.ndarray) -> str:
    """Values in [0, 1] as base64 bytes 0..255: a 48 × 48 map is 3 KB of JSON, not 20."""
    quantised = np.rint(np.clip(np.nan_to_num(levels), 0, 1) * 255).astype(np.uint8)
    return base64.b64encode(quantised.tobytes()).decode("ascii")


def _number(value: float) -> float | None:
    """JSON has no NaN or infinity: a diverged value is sent as null."""
    value = float(value)
    return value if math.isfinite(value) else None


def _rounded(array: np.ndarray, decimals: int = 4) -> list:
    return np.round(np.nan_to_num(np.asarray(array, dtype=np.float64)), decimals).tolist()


class Session:
    """A network, its data and optimizer, trained step by step for one page.

    Example:
        >>> from chainrule.playground.config import Config
        >>> from chainrule.playground.session import Session
        >>> session = Session(Config(dataset="xor", seed=1))
        >>> session.advance(steps=5)
        5
        >>> frame = session.frame()
        >>> frame["step"], len(frame["history"]), [len(units) for units in frame["maps"]]
        (5, 2, [4, 4, 1])
    """

    def __init__(self, config: Config):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # notified on every change the page sees
        self.playing = False
        self.version = 0  # bumped on every change; generation on every new network
        self.generation = 0
        self.last_seen = time.monotonic()
        self.streams = 0  # open event streams (a session with one is never idle)
        self.stream = None  # the newest stream's token: an older stream of this page stops
        self.reset(config)

    # ------------------------------------------------------------------ set-up
    def reset(self, config: Config) -> None:
        """New data, network and optimizer for ``config``; the history starts afresh."""
        with self.lock:
            self.config = config
            self.data = datasets.load(config.dataset, config.points, config.noise,
                                      seed=config.seed)
            data = self.data
            self.model = build_model(config, data.features, data.classes)
            self.linears = [m for m in self.model if isinstance(m, Linear)]
            self.names = {id(p): name for name, p in self.model.named_parameters()}
            self.loss = build_loss(config)
            self.y_train = targets(config, data.y_train, data.classes)
            self.y_test = targets(config, data.y_test, data.classes)
            optimizer = SGD if config.optimizer == "sgd" else Adam
            self.optimizer = optimizer(self.model.parameters(), lr=config.lr,
                                       weight_decay=config.weight_decay)
            self.order_rng = np.random.default_rng(config.seed)
            self.order, self.cursor = self.order_rng.permutation(len(data.x_train)), 0
            self.steps = self.epoch = 0
            self.previous: list[np.ndarray] | None = None  # weights before the last step
            self.batch: tuple[np.ndarray, np.ndarray] | None = None
            self.history: list[dict] = []
            self.history_version = 0
            self._pending: list[list[float]] = []  # per-layer ‖∇J‖ per step since the last point
            self.grid = self._grid_inputs()
            self.generation += 1
            self._record()
            self._changed()

    def configure(self, config: Config) -> bool:
        """Take ``config``: live when only the learning rate, batch size or weight decay change
        (the network keeps learning), else a new network. Returns whether it was reset."""
        with self.lock:
            if not config.same_network(self.config):
                self.reset(config)
                return True
            self.config = config
            for group in self.optimizer.param_groups:
                group["lr"], group["weight_decay"] = config.lr, config.weight_decay
            self._changed()
            return False

    def _grid_inputs(self) -> np.ndarray:
        (x_lo, x_hi), (y_lo, y_hi) = self.data.bounds
        # Row r of the grid is y from top (high) to bottom, as an image is drawn.
        ys, xs = np.meshgrid(np.linspace(y_hi, y_lo, GRID), np.linspace(x_lo, x_hi, GRID),
                             indexing="ij")
        return self.data.to_input(np.stack([xs.ravel(), ys.ravel()], axis=1))

    def _changed(self) -> None:
        self.version += 1
        self.changed.notify_all()

    def play(self, playing: bool) -> None:
        """Start or pause training (the event stream trains while playing)."""
        with self.lock:
            self.playing = playing
            self._changed()

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    # ------------------------------------------------------------------ training
    def _next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        if self.cursor >= len(self.order):
            self.order, self.cursor = self.order_rng.permutation(len(self.order)), 0
            self.epoch += 1
        rows = self.order[self.cursor:self.cursor + self.config.batch_size]
        self.cursor += len(rows)
        return self.data.x_train[rows], self.y_train[rows]

    def _step(self) -> None:
        x, y = self._next_batch()
        # The weights this step's gradient belongs to: explaining the step after the
        # optimizer has moved them needs them (a few hundred numbers, copied per step).
        self.previous = [p.data.copy() for p in self.model.parameters()]
        self.optimizer.zero_grad()
        objective = self.loss(self.model(Tensor(x)), y)
        objective.backward()
        norms = [math.sqrt(sum(squared_norm(p.grad) for p in layer.parameters()))
                 for layer in self.linears]
        self.optimizer.step()
        self.batch = (x, y)
        self.steps += 1
        self._pending.append(norms)

    def advance(self, steps: int = 1, seconds: float | None = None) -> int:
        """Take ``steps`` steps (with ``seconds``: as many as fit in that time, at least one
        and at most ``steps``), then add a history point; returns the steps taken."""
        with self.lock:
            deadline = math.inf if seconds is None else time.perf_counter() + seconds
            taken = 0
            while taken < steps and (taken == 0 or time.perf_counter() < deadline):
                self._step()
                taken += 1
            self._record()
            self._changed()
            return taken

    def _evaluate(self, x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        with no_grad():
            output = self.model(Tensor(x))
            loss = float(self.loss(output, y).item())
        classes, _ = predictions(self.config, output.data)
        return loss, float(np.mean(classes == labels))

    def _record(self) -> None:
        """A history point: losses and accuracies on the whole training and test sets, and the
        mean per-layer ‖∇J‖ of the steps since the last point."""
        train_loss, train_accuracy = self._evaluate(self.data.x_train, self.y_train,
                                                    self.data.y_train)
        test_loss, test_accuracy = self._evaluate(self.data.x_test, self.y_test, self.data.y_test)
        pending, self._pending = self._pending, []
        norms = np.mean(pending, axis=0).tolist() if pending else None
        self.history.append({
            "step": self.steps, "epoch": self.epoch,
            "train": _number(train_loss), "test": _number(test_loss),
            "train_accuracy": train_accuracy, "test_accuracy": test_accuracy,
            "grad_norm": None if norms is None else [_number(n) for n in norms],
        })
        if len(self.history) > HISTORY_POINTS:  # a long run keeps its shape, not every point
            self.history = self.history[::2]
            self.history_version += 1

    # ------------------------------------------------------------------ what the page draws
    def frame(self, since: int = 0) -> dict:
        """What the page draws now: the step, the history points from index ``since``, the
        weights, the decision boundary and every unit's activation over the plane."""
        with self.lock:
            maps, boundary = self._maps()
            return {
                "step": self.steps, "epoch": self.epoch, "playing": self.playing,
                "since": since, "history": self.history[since:],
                "weights": [{"W": _rounded(layer.weight.data), "b": _rounded(layer.bias.data)}
                            for layer in self.linears],
                "boundary": boundary, "maps": maps,
            }

    def _maps(self) -> tuple[list[list[dict]], dict]:
        """Per layer (hidden layers, then the output), per unit: its activation over the grid
        (24 × 24, scaled to [lo, hi]); and the decision boundary (48 × 48 class and
        confidence)."""
        maps = []
        with no_grad():
            h = Tensor(self.grid)
            modules = list(self.model)
            for position, module in enumerate(modules):
                h = module(h)
                if position < len(modules) - 1 and not isinstance(module, Linear):
                    maps.append(self._unit_maps(h.data, output=False))  # a hidden activation
            maps.append(self._unit_maps(h.data, output=True))
        classes, confidence = predictions(self.config, h.data)
        boundary = {"size": GRID, "classes": base64.b64encode(
            classes.astype(np.uint8).tobytes()).decode("ascii"), "confidence": _encode(confidence)}
        return maps, boundary

    def _unit_maps(self, values: np.ndarray, output: bool) -> list[dict]:
        grid = values.reshape(GRID, GRID, -1)[::2, ::2]
        if output and self.config.loss == "cross_entropy":  # logits are shown as probabilities
            grid = Tensor(grid).softmax(axis=-1).data
        fixed = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
        units = []
        for unit in range(grid.shape[-1]):
            plane = np.nan_to_num(grid[..., unit].astype(np.float64))
            if output:
                lo, hi = 0.0, 1.0
            else:
                lo, hi = fixed.get(self.config.activation, (0.0, max(float(plane.max()), 1e-6)))
            units.append({"lo": lo, "hi": hi, "map": _encode((plane - lo) / (hi - lo))})
        return units

    def setup(self) -> dict:
        """What the page needs once per network: settings, data points, layer sizes, the
        input features over the plane (2-D sets), and the whole history so far."""
        with self.lock:
            data = self.data
            points = [[*xy, int(label), split] for split, (view, labels) in
                      enumerate([(data.view_train, data.y_train), (data.view_test, data.y_test)])
                      for xy, label in zip(_rounded(view, 3), labels)]
            inputs = []
            if data.components is None:  # x₁ and x₂ themselves, as the input neurons' maps
                grid = self.grid.reshape(GRID, GRID, 2)[::2, ::2]
                inputs = [{"lo": lo, "hi": hi, "map": _encode((grid[..., axis] - lo) / (hi - lo))}
                          for axis, (lo, hi) in enumerate(data.bounds)]
            return {
                "config": self.config.to_json(), "classes": data.classes, "axes": data.axes,
                "bounds": data.bounds, "points": points, "input_maps": inputs,
                "sizes": [data.features, *self.config.hidden, self.linears[-1].out_features],
            }

    # ------------------------------------------------------------------ one weight's story
    def snapshot(self) -> dict:
        """The last step's batch and the weights it saw (before the update), for tests and
        anyone checking the page's numbers: ``cr.explain`` on these gives the same terms."""
        with self.lock:
            if self.batch is None or self.previous is None:  # both are set by the first step
                raise NoStepYet("the network has not taken a step yet: press step or play")
            x, y = self.batch
            return {"step": self.steps, "config": self.config.to_json(),
                    "parameters": {self.names[id(p)]: before.tolist() for p, before in
                                   zip(self.model.parameters(), self.previous)},
                    "x": x.tolist(), "y": y.tolist()}

    def explain(self, layer: int, parameter: str, index: tuple[int, ...]) -> dict:
        """The chain rule of ``W[layer]`` or ``b[layer]`` at ``index`` in the last step: the
        path's terms per sample (from ``cr.explain`` on that step's batch and weights), its
        central-difference check and the update the optimizer made."""
        with self.lock:
            if self.batch is None or self.previous is None:  # both are set by the first step
                raise NoStepYet("the network has not taken a step yet: press step or play")
            x, y = self.batch
            parameters = list(self.model.parameters())
            current = [p.data for p in parameters]
            try:
                for p, before in zip(parameters, self.previous):
                    p.data = before
                explanation = explain_pass(self.model, x, y, loss=self.loss, check=False)
                path = chain_path(explanation, layer, parameter, index)
                target = getattr(self.linears[layer - 1], "weight" if parameter == "W" else "bias")
                numerical = check_entry(self.model, x, y, self.loss, self.names[id(target)],
                                        index)
                value_before = float(target.data[index])
            finally:
                for p, data in zip(parameters, current):
                    p.data = data
            error = abs(path.backward - numerical)
            atol, rtol = TOLERANCE
            return {
                "layer": layer, "parameter": parameter, "index": list(index),
                "step": self.steps, "batch_size": len(x),
                "loss": {"name": explanation.loss_formula.name,
                         "formula": explanation.loss_formula.text,
                         "value": _number(explanation.loss)},
                "path": path.to_dict(),
                "check": {"backward": path.backward, "numerical": numerical,
                          "abs_error": error,
                          "rel_error": error / max(abs(numerical), abs(path.backward), 1e-12),
                          "ok": bool(error <= atol + rtol * abs(numerical))},
                "update": self._update(target, index, value_before, path.backward),
            }

    def _update(self, target, index, before: float, gradient: float) -> dict:
        """``θ ← θ − η ∂J/∂θ`` as the optimizer did it in the last step, with its numbers."""
        group = self.optimizer.param_groups[0]
        lr, decay = float(group["lr"]), float(group["weight_decay"])
        g = gradient + decay * before  # L2 regularisation: the gradient of J + λ/2 ‖θ‖²
        update = {"optimizer": self.config.optimizer, "lr": lr, "weight_decay": decay,
                  "before": before, "gradient": g, "after": float(target.data[index])}
        if isinstance(self.optimizer, Adam):
            state = self.optimizer.state[target]
            (beta1, beta2), step = group["betas"], state["step"]
            m = float(state["exp_avg"][index]) / (1 - beta1 ** step)
            v = float(state["exp_avg_sq"][index]) / (1 - beta2 ** step)
            update.update(formula="θ ← θ − η m̂ / (√v̂ + ε)", m_hat=m, v_hat=v, step=step,
                          computed=before - lr * m / (math.sqrt(v) + float(group["eps"])))
        else:
            update.update(formula="θ ← θ − η (∂J/∂θ + λθ)" if decay else "θ ← θ − η ∂J/∂θ",
                          computed=before - lr * g)
        return update
