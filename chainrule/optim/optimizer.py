"""The ``Optimizer`` base: parameter groups, per-parameter state, ``step`` and state dicts.

An optimizer holds ``param_groups``, a list of dicts, each with its ``"params"`` and its own
hyperparameters (``lr``, ``momentum``, ...; missing ones come from the constructor's defaults), and
``state``, a dict from parameter to that parameter's buffers (momentum, moment estimates, step
counts). ``step()`` reads every parameter's ``.grad`` (``None`` means no gradient this step: the
parameter and its state are left alone) and updates ``.data`` in place, so views of the weights
and references held elsewhere stay valid.

The arithmetic of each optimizer is a plain function of arrays beside its class (``sgd_update``,
``adam_update``, ...); the classes only keep state and pass hyperparameters as Python floats, so a
float32 parameter is never pushed through float64 arithmetic.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import enable_grad, increment_version
from ..backend import array_module
from ..tensor import Tensor

__all__ = ["Optimizer"]


def _check_number(owner: str, name: str, value: float, low: float = 0.0, high: float | None = None,
                  high_inclusive: bool = True) -> None:
    """Raise a ``ValueError`` naming ``owner`` unless ``low <= value (<= or <) high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"{owner}: {name} must be a real number, got {value!r}")
    above = high is not None and (value > high if high_inclusive else value >= high)
    if value < low or above:
        upper = "inf)" if high is None else f"{high}]" if high_inclusive else f"{high})"
        raise ValueError(f"{owner}: {name} must be in [{low}, {upper}, got {value!r}")


def _work_arrays(like: np.ndarray, workspace: dict[Any, Any] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays shaped and typed like ``like`` for an update's intermediate results.

    With ``workspace`` (a dict kept by the caller) they are views of one flat buffer per dtype,
    grown to the largest parameter seen, and the views are kept per shape and memory order
    (making them costs more than a small parameter's update); their contents are meaningless
    between calls. They share ``like``'s memory order (a column-major weight gets column-major
    work arrays): element-wise updates over mixed layouts run several times slower.
    """
    key = (like.dtype, like.shape, like.strides)  # strides tell the layout, cheaper than flags
    if workspace is not None:
        views: tuple[np.ndarray, np.ndarray] | None = workspace.get(key)
        if views is not None:
            return views
    column_major = like.flags.f_contiguous and not like.flags.c_contiguous
    size = like.size
    flat = None if workspace is None else workspace.get(like.dtype)
    if flat is None or flat.size < 2 * size:
        flat = array_module(like).empty(2 * size, dtype=like.dtype)
        if workspace is not None:  # views of the smaller buffer would keep it alive
            for stale in [k for k in workspace if isinstance(k, tuple) and k[0] == like.dtype]:
                del workspace[stale]
            workspace[like.dtype] = flat
    # slices then reshape (not flat.reshape(2, ...)[i]) so 0-d parameters get 0-d arrays
    if column_major:
        views = tuple(part.reshape(like.shape[::-1]).T
                      for part in (flat[:size], flat[size:2 * size]))
    else:
        views = flat[:size].reshape(like.shape), flat[size:2 * size].reshape(like.shape)
    if workspace is not None:
        workspace[key] = views
    return views


def _l2_grad(param: np.ndarray, grad: np.ndarray, weight_decay: float, out: np.ndarray
             ) -> np.ndarray:
    """``∇ + λθ`` (the gradient with an L2 penalty's) in ``out``, or ``grad`` itself if λ = 0."""
    if not weight_decay:
        return grad
    np.multiply(param, weight_decay, out=out)
    out += grad
    return out


def _ema_(average: np.ndarray, value: np.ndarray, beta: float, work: np.ndarray) -> None:
    """``a ← β a + (1 - β) x`` in place, as ``a += (1 - β)(x - a)`` (PyTorch's lerp rounding)."""
    np.subtract(value, average, out=work)
    work *= 1.0 - beta
    average += work


def _ema_square_(average: np.ndarray, value: np.ndarray, beta: float, work: np.ndarray) -> None:
    """``a ← β a + (1 - β) x²`` in place."""
    np.multiply(value, 1.0 - beta, out=work)
    work *= value
    average *= beta
    average += work


class Optimizer:
    """Base class of every optimizer.

    Subclasses pass their defaults to ``__init__``, check a group's hyperparameters in
    ``_check_group`` and update one parameter in ``_update(param, grad, state, group)``.

    Args:
        params: an iterable of parameters (``model.parameters()``), or of dicts, each holding
            ``"params"`` and the hyperparameters that differ for that group.
        defaults: every hyperparameter's default value.

    Shape:
        Parameters of any shape and floating dtype; each state buffer has its parameter's shape
        and dtype, and a parameter's update is done in that dtype.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter([1.0, 2.0])
        >>> opt = cr.optim.SGD([{"params": [w], "lr": 0.5}], lr=0.1)
        >>> w.grad = w.data.copy()
        >>> opt.step()
        >>> w.data
        array([0.5, 1. ], dtype=float32)
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of parameters or of dicts, "
                "got a single Tensor; pass [param] or model.parameters()"
            )
        if isinstance(params, set):
            params = {"params": params}  # add_param_group explains why a set cannot do
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        # scratch buffers by dtype, their views by (dtype, shape)
        self._workspace: dict[Any, Any] = {}
        groups = [params] if isinstance(params, dict) else list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. a layer to fine-tune).

        Raises:
            TypeError: for a non-dict group or parameters that are not tensors.
            ValueError: for a parameter already in another group or an invalid hyperparameter.
        """
        owner = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{owner}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{owner}: a parameter group needs a 'params' entry")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError(f"{owner}: params must be an ordered collection (the order indexes "
                            "the state dict), got a set")
        params = [params] if isinstance(params, Tensor) else list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"{owner}: can only optimize Tensors (Parameters), got "
                                f"{type(param).__name__}")
            if param.data.dtype.kind != "f":
                raise TypeError(f"{owner}: can only optimize floating-point tensors, got dtype "
                                f"{param.data.dtype}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{owner}: a parameter group contains the same parameter twice")
        existing = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError(f"{owner}: some parameters appear in more than one parameter group")
        group = {**self.defaults, **param_group, "params": params}
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate a group's hyperparameters (subclasses extend it)."""
        _check_number(type(self).__name__, "lr", group["lr"])

    # ------------------------------------------------------------------ the update
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: ``None`` (default) or zeros written in place."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None
                elif param.grad is not None:
                    param.grad.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place.

        Args:
            closure: optional function that recomputes the loss (runs forward and backward)
                and returns it; it is called before the update, with gradients enabled.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        state = self.state
        updated = []
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                data = param.data
                if grad.shape != data.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step: a parameter of shape {data.shape} "
                        f"has a gradient of shape {grad.shape}"
                    )
                param_state = state.get(param)
                if param_state is None:
                    param_state = state[param] = {}
                self._update(data, grad, param_state, group)
                updated.append(param)
        increment_version(*updated)  # a backward through the old values now raises
        return loss

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        raise NotImplementedError  # pragma: no cover - the contract

    @staticmethod
    def _buffer(state: dict[str, Any], name: str, like: np.ndarray, fill: float = 0.0
                ) -> np.ndarray:
        """``state[name]``, created on first use as an array shaped and typed like ``like``."""
        buffer: np.ndarray | None = state.get(name)
        if buffer is None:
            buffer = state[name] = array_module(like).full_like(like, fill)
        return buffer

    def _scratch(self, like: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two work arrays like ``like``, from one buffer per dtype reused across parameters
        and steps, so an update allocates nothing after the first step."""
        return _work_arrays(like, self._workspace)

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state, in PyTorch's layout, as copies.

        Returns:
            ``{"state": {index: {name: array or number}}, "param_groups": [{hyperparameters...,
            "params": [indices]}]}``, where parameters are numbered in group order.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            start = len(index)
            index.update({id(p): start + i for i, p in enumerate(group["params"])})
            saved = {k: v for k, v in group.items() if k != "params"}
            groups.append({**saved, "params": list(range(start, len(index)))})
        state = {
            index[id(param)]: {name: value.copy() if hasattr(value, "copy") else value
                               for name, value in param_state.items()}
            for param, param_state in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore ``state_dict()`` output; the next steps continue bitwise as the saved run would.

        Arrays are copied in their parameter's dtype and memory order; the parameters themselves
        are this optimizer's, matched by position.

        Raises:
            ValueError: when groups, parameter counts or buffer shapes differ.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or {"state", "param_groups"} - state_dict.keys():
            raise ValueError(f"{owner}: expected a dict with 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{owner}: the state has {len(saved_groups)} parameter groups, "
                             f"the optimizer {len(self.param_groups)}")
        by_index = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{owner}: group {i} has {len(saved['params'])} parameters in "
                                 f"the state, {len(group['params'])} in the optimizer")
            by_index.update({int(k): p for k, p in zip(saved["params"], group["params"])})
        new_state = {}
        for key, saved in state_dict["state"].items():
            param = by_index.get(int(key))
            if param is None:
                raise ValueError(f"{owner}: state for parameter {key}, which no group holds")
            new_state[param] = {name: self._restore(value, param.data, f"{owner}: state "
                                                    f"{name!r} of parameter {key}")
                                for name, value in saved.items()}
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            restored = {k: tuple(v) if isinstance(self.defaults.get(k), tuple) else v
                        for k, v in saved.items() if k != "params"}
            new_groups.append({**restored, "params": group["params"]})
        for group in new_groups:
            self._check_group(group)
        self.state = new_state
        self.param_groups = new_groups

    @staticmethod
    def _restore(value: Any, param: np.ndarray, where: str) -> Any:
        """A saved state entry as this optimizer keeps it: numbers as Python numbers (a 0-d
        integer array, as array-only formats store a step count, counts too), buffers as copies
        in the parameter's dtype and memory order (saved copies are row-major; a buffer in
        another layout than its column-major parameter makes every later step several times
        slower)."""
        if isinstance(value, (numbers.Number, np.generic)):
            return value.item() if isinstance(value, np.generic) else value
        array = np.asarray(value)
        if array.ndim == 0 and array.dtype.kind in "iu":
            return int(array)
        if array.shape != param.shape:
            raise ValueError(f"{where} has shape {array.shape}, the parameter {param.shape}")
        dtype = param.dtype if array.dtype.kind == "f" else array.dtype
        buffer = array_module(param).empty_like(param, dtype=dtype)
        buffer[...] = array
        return buffer

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])
