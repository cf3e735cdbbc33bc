"""Learning-rate schedulers: set each parameter group's ``lr`` as training progresses.

Call ``scheduler.step()`` after ``optimizer.step()`` (once per epoch, or once per batch for
``OneCycleLR`` and warm-ups). Each scheduler computes the rate in closed form from the group's
initial rate (``group["initial_lr"]``) and its step count ``last_epoch``, so a schedule never
drifts by accumulated rounding and a restored ``state_dict`` continues exactly. The sequences
match ``torch.optim.lr_scheduler``. Because the rate is a function of the step count, two
schedulers on one optimizer do not multiply; run one after another with ``SequentialLR``.

Example:
    >>> import chainrule as cr
    >>> w = cr.nn.Parameter([0.0])
    >>> opt = cr.optim.SGD([w], lr=0.1)
    >>> sched = cr.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> for epoch in range(4):
    ...     opt.step()  # after the epoch's batches
    ...     sched.step()
    >>> sched.get_last_lr()
    [0.025]
"""

from __future__ import annotations

import bisect
import copy
import math
import numbers
from collections.abc import Sequence
from typing import Any

from ..tensor import Tensor
from .optimizer import Optimizer, _check_number

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


def _check_int(owner: str, name: str, value: int, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{owner}: {name} must be an integer >= {low}, got {value!r}")


def _per_group(owner: str, name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """One value per parameter group from a scalar or a sequence of the groups' length."""
    count = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"{owner}: expected {count} values of {name} (one per parameter "
                             f"group), got {len(value)}")
        return list(value)
    return [value] * count


class LRScheduler:
    """Base class: subclasses give the rate at step ``t`` in ``_lr(base_lr, t)``.

    Constructing a scheduler records ``initial_lr`` in each group (once) and sets the step-0
    rate. ``state_dict()`` holds only plain numbers, strings and lists.

    Args:
        optimizer: the optimizer whose groups' ``lr`` to set.
        last_epoch: the index of the last step taken; -1 starts a new schedule.

    Shape:
        One rate (a Python float) per parameter group.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected a chainrule Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr' "
                               f"to resume from at last_epoch={last_epoch}; load the optimizer's "
                               "state first or start with last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def _lr(self, base_lr: float, step: int) -> float:
        raise NotImplementedError  # pragma: no cover - the contract

    def get_lr(self) -> list[float]:
        """The rates for step ``last_epoch`` (use ``get_last_lr`` to read the current ones)."""
        return [self._lr(base_lr, self.last_epoch) for base_lr in self.base_lrs]

    def step(self) -> None:
        """Advance one step and set every group's ``lr``."""
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _set_lrs(self, lrs: list[float]) -> None:
        # Python floats, so a float32 update never meets a float64 NumPy scalar
        self._last_lr = [float(lr) for lr in lrs]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def get_last_lr(self) -> list[float]:
        """The rate of each parameter group set by the last ``step``."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Every setting and counter except the optimizer, as plain numbers and lists."""
        return {k: copy.deepcopy(v) for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore ``state_dict()`` output and set the groups' rates to the saved ones.

        Raises:
            ValueError: when the keys differ from this scheduler's.
        """
        own = set(self.state_dict())
        if set(state_dict) != own:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: missing keys "
                f"{sorted(own - set(state_dict))}, unexpected keys "
                f"{sorted(set(state_dict) - own)}")
        self.__dict__.update(copy.deepcopy(state_dict))
        self._set_lrs(self._last_lr)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


class StepLR(LRScheduler):
    """Decay by ``gamma`` every ``step_size`` steps: ``η_t = η₀ γ^⌊t / step_size⌋``.

    Args:
        optimizer: the optimizer to schedule.
        step_size: steps between decays.
        gamma: the decay factor.
        last_epoch: -1 to start (see ``LRScheduler``).

    Shape:
        One rate per parameter group.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        _check_int("StepLR", "step_size", step_size)
        _check_number("StepLR", "gamma", gamma)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr: float, step: int) -> float:
        return base_lr * self.gamma ** (step // self.step_size)


class MultiStepLR(LRScheduler):
    """Decay by ``gamma`` at each milestone: ``η_t = η₀ γ^(number of milestones <= t)``.

    Args:
        optimizer: the optimizer to schedule.
        milestones: step indices (a milestone listed twice decays twice).
        gamma: the decay factor.
        last_epoch: -1 to start (see ``LRScheduler``).

    Shape:
        One rate per parameter group.
    """

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1):
        for milestone in milestones:
            _check_int("MultiStepLR", "each milestone", milestone, low=0)
        _check_number("MultiStepLR", "gamma", gamma)
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr: float, step: int) -> float:
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, step)


class ExponentialLR(LRScheduler):
    """Decay by ``gamma`` every step: ``η_t = η₀ γ^t``.

    Args:
        optimizer: the optimizer to schedule.
        gamma: the decay factor per step.
        last_epoch: -1 to start (see ``LRScheduler``).

    Shape:
        One rate per parameter group.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        _check_number("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr: float, step: int) -> float:
        return base_lr * self.gamma ** step


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing (Loshchilov & Hutter, 2017) without restarts:
    ``η_t = η_min + (η₀ - η_min)(1 + cos(π t / T_max)) / 2``.

    After ``T_max`` steps the rate rises again along the same cosine (period ``2 T_max``), as in
    PyTorch.

    Args:
        optimizer: the optimizer to schedule.
        T_max: steps from the initial rate down to ``eta_min``.
        eta_min: the lowest rate.
        last_epoch: -1 to start (see ``LRScheduler``).

    Shape:
        One rate per parameter group.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        _check_int("CosineAnnealingLR", "T_max", T_max)
        _check_number("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr: float, step: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (
            1 + math.cos(math.pi * step / self.T_max)) / 2


class LinearLR(LRScheduler):
    """A linear warm-up (or decay) of the rate's factor over ``total_iters`` steps:
    ``η_t = η₀ (s + (e - s) min(t, total_iters) / total_iters)``.

    Args:
        optimizer: the optimizer to schedule.
        start_factor: s, the factor at step 0, in (0, 1].
        end_factor: e, the factor from ``total_iters`` on, in [0, 1].
        total_iters: steps to go from s to e.
        last_epoch: -1 to start (see ``LRScheduler``).

    Shape:
        One rate per parameter group.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        _check_number("LinearLR", "start_factor", start_factor, 0.0, 1.0)
        if start_factor == 0:
            raise ValueError("LinearLR: start_factor must be in (0, 1], got 0 (a zero rate "
                             "cannot be scaled back up)")
        _check_number("LinearLR", "end_factor", end_factor, 0.0, 1.0)
        _check_int("LinearLR", "total_iters", total_iters)
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr: float, step: int) -> float:
        progress = min(step, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class SequentialLR(LRScheduler):
    """Run schedulers one after another, e.g. a ``LinearLR`` warm-up then ``CosineAnnealingLR``.

    Scheduler ``i`` runs from ``milestones[i - 1]`` (0 for the first), counting its own steps
    from 0 there.

    Args:
        optimizer: the optimizer all the schedulers were built on.
        schedulers: the schedulers, in order.
        milestones: the steps at which the next scheduler takes over (one fewer than schedulers).
        last_epoch: -1 to start (see ``LRScheduler``).

    Shape:
        One rate per parameter group.

    Example:
        >>> import chainrule as cr
        >>> opt = cr.optim.SGD([cr.nn.Parameter([0.0])], lr=1.0)
        >>> warm = cr.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
        >>> decay = cr.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        >>> sched = cr.optim.lr_scheduler.SequentialLR(opt, [warm, decay], milestones=[2])
        >>> rates = []
        >>> for _ in range(4):
        ...     rates.append(sched.get_last_lr()[0])
        ...     sched.step()
        >>> rates
        [0.5, 0.75, 1.0, 0.5]
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1):
        if len(schedulers) < 1 or len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected one milestone fewer than schedulers, got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        for scheduler in schedulers:
            if not isinstance(scheduler, LRScheduler) or isinstance(scheduler, ReduceLROnPlateau):
                raise TypeError(f"SequentialLR: cannot sequence {type(scheduler).__name__}")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: {type(scheduler).__name__} was built on another "
                                 "optimizer")
        if list(milestones) != sorted(milestones):
            raise ValueError(f"SequentialLR: milestones must increase, got {list(milestones)}")
        self._schedulers = list(schedulers)
        self.milestones = list(milestones)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        index = bisect.bisect_right(self.milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        scheduler.last_epoch = self.last_epoch - (self.milestones[index - 1] if index else 0)
        lrs = scheduler.get_lr()
        scheduler._last_lr = list(lrs)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        state = {k: copy.deepcopy(v) for k, v in vars(self).items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        inner = state.pop("_schedulers", [])
        if len(inner) != len(self._schedulers):
            raise ValueError(f"SequentialLR.load_state_dict: the state holds {len(inner)} "
                             f"schedulers, this one {len(self._schedulers)}")
        for scheduler, saved in zip(self._schedulers, inner):
            scheduler.load_state_dict(saved)
        state["_schedulers"] = self._schedulers
        super().load_state_dict(state)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018): warm up to ``max_lr``, then anneal far below
    the start; step it once per batch.

    The rate goes from ``max_lr / div_factor`` up to ``max_lr`` over the first ``pct_start`` of
    the steps, then down to ``max_lr / (div_factor · final_div_factor)`` (with ``three_phase``:
    up, back down to the start, then to the minimum), along a cosine or a line. With
    ``cycle_momentum`` the momentum (SGD) or β₁ (Adam) moves the opposite way, between
    ``max_momentum`` and ``base_momentum``.

    Args:
        optimizer: the optimizer to schedule (its ``lr`` is replaced).
        max_lr: the peak rate, or one per parameter group.
        total_steps: the number of steps; or give ``epochs`` and ``steps_per_epoch``.
        pct_start: the fraction of steps spent increasing the rate.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        cycle_momentum: move momentum inversely to the rate.
        base_momentum, max_momentum: the momentum's range (scalars or one per group).
        div_factor: ``initial_lr = max_lr / div_factor``.
        final_div_factor: ``min_lr = initial_lr / final_div_factor``.
        three_phase: add a symmetric fall back to ``initial_lr`` before the final annealing.
        last_epoch: -1 to start (see ``LRScheduler``).

    Shape:
        One rate per parameter group.

    Raises:
        ValueError: when stepped past ``total_steps``.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85,
                 max_momentum: float | Sequence[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        owner = "OneCycleLR"
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError(f"{owner}: give total_steps, or epochs and steps_per_epoch")
            _check_int(owner, "epochs", epochs)
            _check_int(owner, "steps_per_epoch", steps_per_epoch)
            total_steps = epochs * steps_per_epoch
        _check_int(owner, "total_steps", total_steps)
        _check_number(owner, "pct_start", pct_start, 0.0, 1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{owner}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        # each phase: (last step, group key of its start rate, of its end rate, momentum keys)
        up = float(pct_start * total_steps) - 1
        self._phases: list[list[Any]]
        if three_phase:
            self._phases = [
                [up, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                [float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr",
                 "base_momentum", "max_momentum"],
                [total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"],
            ]
        else:
            self._phases = [
                [up, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                [total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"],
            ]
        max_lrs = _per_group(owner, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs):
                _check_number(owner, "max_lr", peak)
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        self.use_beta1 = "betas" in optimizer.defaults
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and not self.use_beta1:
                raise ValueError(f"{owner}: {type(optimizer).__name__} has neither momentum nor "
                                 "betas; pass cycle_momentum=False")
            highs = _per_group(owner, "max_momentum", optimizer, max_momentum)
            lows = _per_group(owner, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, high, low in zip(optimizer.param_groups, highs, lows):
                    group["max_momentum"], group["base_momentum"] = high, low
                    self._set_momentum(group, high)
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        """The rates at ``last_epoch``; with ``cycle_momentum`` also sets each group's momentum."""
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, but total_steps is "
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_from, lr_to, m_from, m_to) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
                    break
                start = end
        return lrs

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.get_lr()  # the momentum belongs to the restored step too


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a metric has stopped improving for ``patience``
    steps: call ``step(metric)`` once per epoch with, e.g., the validation loss.

    A value improves on the best so far when it is below ``best · (1 - threshold)`` (mode
    ``"min"``, ``threshold_mode="rel"``), below ``best - threshold`` (``"abs"``), or above
    ``best · (1 + threshold)`` / ``best + threshold`` in mode ``"max"``. After a reduction,
    ``cooldown`` steps pass before bad steps are counted again. A rate never drops below
    ``min_lr``, and reductions smaller than ``eps`` are skipped.

    Args:
        optimizer: the optimizer to schedule.
        mode: ``"min"`` (loss) or ``"max"`` (accuracy).
        factor: the multiplier, in [0, 1).
        patience: bad steps tolerated before a reduction.
        threshold, threshold_mode: what counts as an improvement (see above).
        cooldown: steps to wait after a reduction.
        min_lr: the lowest rate, or one per parameter group.
        eps: the smallest change worth making.

    Shape:
        One rate per parameter group.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0.0, eps: float = 1e-8):
        owner = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{owner}: expected a chainrule Optimizer, got "
                            f"{type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"{owner}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{owner}: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        _check_number(owner, "factor", factor, 0.0, 1.0, high_inclusive=False)
        _check_int(owner, "patience", patience, low=0)
        _check_number(owner, "threshold", threshold)
        _check_int(owner, "cooldown", cooldown, low=0)
        _check_number(owner, "eps", eps)
        self.optimizer = optimizer
        self.min_lrs = _per_group(owner, "min_lr", optimizer, min_lr)
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [float(group["lr"]) for group in optimizer.param_groups]

    def _is_better(self, value: float) -> bool:
        sign = 1.0 if self.mode == "min" else -1.0
        if self.threshold_mode == "rel":
            return sign * value < sign * self.best * (1.0 - sign * self.threshold)
        return sign * value < sign * self.best - self.threshold

    def step(self, metrics: float | Tensor) -> None:  # type: ignore[override]  # as PyTorch
        """Record this epoch's metric (a number or a 0-d tensor) and reduce the rate if due."""
        value = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self._is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during a cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, low in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, low)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]
