"""``DistributedOptimizer``: any optimizer, updating with gradients averaged over all ranks."""

from __future__ import annotations

from collections.abc import Callable

from ..tensor import enable_grad
from .buckets import GradientBuckets
from .world import current

__all__ = ["DistributedOptimizer"]


class DistributedOptimizer:
    """Wrap ``optimizer`` so that ``step()`` applies the gradient averaged over all ranks
    (Horovod's ``DistributedOptimizer``): with every rank holding the same weights and training
    on its share of each global batch, every rank then makes the same update — the one a single
    process would make on the whole batch.

    ``g = (1/K) Σ_k g_k``, where ``g_k`` is rank k's gradient of its share's mean loss. The
    gradients travel in fused buckets whose allreduce starts during ``backward()`` as soon as
    each bucket's gradients are final (see ``GradientBuckets``); ``step()`` waits for them.
    Everything else (``param_groups``, ``state_dict``, ``zero_grad`` …) is the wrapped
    optimizer's. In a single process it is the optimizer itself.

    Call ``step()`` once after each ``backward()`` (accumulating gradients over several
    backward passes before a step is not supported). Parameters added to the optimizer after
    wrapping are not averaged.

    Args:
        optimizer: a chainrule optimizer over the model's parameters.
        bucket_size: bytes of gradient fused into one allreduce (default 1 MiB).
        overlap: start each bucket's allreduce during backward; off, all start after it.

    Example:
        >>> import chainrule as cr
        >>> model = cr.nn.Linear(4, 2)
        >>> optimizer = cr.distributed.DistributedOptimizer(cr.optim.SGD(model.parameters(),
        ...                                                               lr=0.1))
        >>> optimizer.param_groups[0]["lr"]
        0.1
    """

    def __init__(self, optimizer, *, bucket_size: int = 2**20, overlap: bool = True):
        if isinstance(optimizer, DistributedOptimizer):
            raise TypeError("DistributedOptimizer: the optimizer is already distributed")
        if not hasattr(optimizer, "param_groups") or not hasattr(optimizer, "step"):
            raise TypeError(f"DistributedOptimizer: expected a chainrule optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        world = current()
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.buckets = (GradientBuckets(params, world, bucket_size=bucket_size, overlap=overlap)
                        if world is not None and world.size > 1 else None)

    def synchronize(self) -> None:
        """Wait until this step's gradients are averaged over the ranks (``step`` calls it)."""
        if self.buckets is not None:
            self.buckets.synchronize()

    def step(self, closure: Callable | None = None):
        """Average the gradients over the ranks, then update (as the wrapped ``step``).

        A ``closure`` (which runs forward and backward and returns the loss) is called first.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self.synchronize()
        self.optimizer.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none)

    def __getattr__(self, name: str):
        # Only reached for names this class does not define: param_groups, state, state_dict…
        return getattr(self.optimizer, name)

    def __repr__(self) -> str:
        return f"DistributedOptimizer({self.optimizer!r})"
