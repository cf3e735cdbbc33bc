"""``DistributedOptimizer``: any optimizer, updating with gradients averaged over all ranks."""

from __future__ import annotations

from collections.abc import Callable

from ..optim.optimizer import Optimizer
from .buckets import GradientBuckets
from .world import current

__all__ = ["DistributedOptimizer"]


class DistributedOptimizer(Optimizer):
    """``optimizer``, made to update with the gradient averaged over all ranks (Horovod's
    ``DistributedOptimizer``): with every rank holding the same weights and training on its
    part of each global batch, every rank then makes the same update — the one a single
    process makes on the whole batch.

    ``g = (1/K) Σ_k s_k g_k``, where ``g_k`` is rank k's gradient of its part's mean loss and
    ``s_k`` its share scale (1 when the parts are equal; see ``sharding``). The gradients travel
    in fused buckets whose allreduce starts during ``backward()`` as soon as each bucket's
    gradients are final (see ``GradientBuckets``); ``step()`` waits for them, then runs the
    optimizer's own update.

    The result is an instance of a subclass of the optimizer's class (``DistributedSGD``…)
    sharing the original's state, so it is still an ``SGD`` to schedulers, ``state_dict`` and
    checkpoints. Call ``step()`` once after each ``backward()`` (accumulating gradients over
    several backward passes before a step is not supported); parameters added after wrapping
    are not averaged. In a single process ``step()`` is the optimizer's own.

    Args:
        optimizer: a chainrule optimizer over the model's parameters.
        bucket_size: bytes of gradient fused into one allreduce (default 1 MiB).
        overlap: start each bucket's allreduce during backward; off, all start after it.

    Example:
        >>> import chainrule as cr
        >>> model = cr.nn.Linear(4, 2)
        >>> optimizer = cr.distributed.DistributedOptimizer(cr.optim.SGD(model.parameters(),
        ...                                                               lr=0.1))
        >>> isinstance(optimizer, cr.optim.SGD), optimizer.param_groups[0]["lr"]
        (True, 0.1)
    """

    __slots__ = ("buckets",)

    def __new__(cls, optimizer, *, bucket_size: int = 2**20, overlap: bool = True):
        if isinstance(optimizer, DistributedOptimizer):
            raise TypeError("DistributedOptimizer: the optimizer is already distributed")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"DistributedOptimizer: expected a chainrule optimizer, got "
                            f"{type(optimizer).__name__}")
        distributed: DistributedOptimizer = object.__new__(_distributed_class(type(optimizer)))
        distributed.__dict__ = optimizer.__dict__  # one state, seen through either object
        return distributed

    def __init__(self, optimizer, *, bucket_size: int = 2**20, overlap: bool = True):
        world = current()
        params = [p for group in self.param_groups for p in group["params"]]
        self.buckets = (GradientBuckets(params, world, bucket_size=bucket_size, overlap=overlap)
                        if world is not None and world.size > 1 else None)

    def synchronize(self) -> None:
        """Wait until this step's gradients are averaged over the ranks (``step`` calls it)."""
        if self.buckets is not None:
            self.buckets.synchronize()

    def step(self, closure: Callable | None = None):
        """Average the gradients over the ranks, then update (the optimizer's ``step``).

        A ``closure`` (which runs forward and backward and returns the loss) is called first.
        """
        loss = None
        if closure is not None:
            loss = super().step(closure=_then(closure, self.synchronize))
        else:
            self.synchronize()
            super().step()
        return loss


def _then(closure: Callable, after: Callable) -> Callable:
    def run():
        loss = closure()
        after()
        return loss

    return run


_classes: dict[type, type[DistributedOptimizer]] = {}


def _distributed_class(kind: type) -> type[DistributedOptimizer]:
    """``Distributed<Kind>``, a subclass of ``DistributedOptimizer`` and ``kind`` (made once)."""
    if kind not in _classes:
        _classes[kind] = type(f"Distributed{kind.__name__}", (DistributedOptimizer, kind),
                              {"__slots__": ()})
    return _classes[kind]
