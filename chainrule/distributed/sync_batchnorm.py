"""``SyncBatchNorm``: batch normalisation whose statistics are those of the global batch.

Plain ``BatchNorm`` under data parallelism normalises each rank's share with that share's mean
and variance, so K ranks train a different model from one process on the whole batch (and each
rank's running statistics drift apart). ``SyncBatchNorm`` sums over all ranks instead:

forward (training), per channel c, M = Σ_k M_k samples × positions over all ranks:
    μ = (Σ_k Σ_i x_i) / M,  σ² = (Σ_k Σ_i (x_i - μ)²) / M     (two allreduces, 2C + 1 numbers)
backward, with g each rank's gradient of its own part's mean loss and s_k the share scales
the gradient average weights rank k with (1 for equal parts, see ``sharding``), on rank r:
    dL/dx_i = (γ/√(σ² + ε)) (g_i - (Σ_k s_k Σ g) / (M s_r) - x̂_i (Σ_k s_k Σ g x̂) / (M s_r))
(one allreduce of 2C numbers). γ and β get each rank's own sums Σ g x̂ and Σ g, which the
gradient average combines like every other parameter's: with rank k's loss the mean over its
part, the average (1/K) Σ_k s_k (…) is the single-process gradient of the whole batch.
In evaluation mode, or in a single process, it is ``BatchNorm``.
"""

from __future__ import annotations

import numpy as np

from ..backend.normalization import multiply_subtract, sum_product
from ..backend.workspace import empty
from ..nn.module import Module
from ..nn.normalization import BatchNorm1d, BatchNorm2d, _BatchNorm
from ..ops.norm import BatchNorm
from ..tensor import Tensor
from .sharding import share_scale
from .world import current

__all__ = ["SyncBatchNorm", "convert_sync_batchnorm"]


class _SyncBatchNormOp(BatchNorm):
    """``BatchNorm`` with batch statistics and gradient sums over all ranks (see the module)."""

    def forward(self, x, weight=None, bias=None, running_mean=None, running_var=None,
                momentum=0.1, eps=1e-5, world=None):
        self.world = world
        comm, sum_op = world.communicator("batchnorm"), world.MPI.SUM
        channels = x.shape[1]
        param_shape = (1, channels) + (1,) * (x.ndim - 2)
        self.param_axes = axes = (0, *range(2, x.ndim))
        self.batch_stats = True
        # float64 so the sample count is exact; the mean goes back to x's dtype.
        totals = np.empty(channels + 1, dtype=np.float64)
        totals[:channels] = x.sum(axis=axes)
        totals[channels] = x.size // channels
        with world.watch("SyncBatchNorm's allreduce of the batch mean"):
            comm.Allreduce(world.MPI.IN_PLACE, totals, op=sum_op)
        self.count = count = int(totals[channels])
        mean = (totals[:channels] / count).astype(x.dtype).reshape(param_shape)
        self.x_hat = np.subtract(x, mean, out=empty(np, x.shape, x.dtype))
        squares = sum_product(self.x_hat, self.x_hat, axes).reshape(channels)
        with world.watch("SyncBatchNorm's allreduce of the batch variance"):
            comm.Allreduce(world.MPI.IN_PLACE, squares, op=sum_op)
        var = (squares / count).reshape(param_shape)
        self.inv_std = 1 / np.sqrt(var + eps)
        self.x_hat *= self.inv_std
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean.reshape(-1)
            running_var *= 1 - momentum
            running_var += (momentum * count / max(count - 1, 1)) * var.reshape(-1)
        return self._affine(weight, bias, param_shape)

    def _input_grad(self, grad):
        # The parameter gradients keep this rank's sums; the input's needs the global ones,
        # each rank's weighted by its share scale s as the gradient average will weight it.
        share = share_scale(self.world.size)
        sums = np.concatenate([self.g_x_hat.ravel(), self.g_sum.ravel()]) * share
        with self.world.watch("SyncBatchNorm's allreduce of the gradient sums"):
            self.world.communicator("batchnorm").Allreduce(self.world.MPI.IN_PLACE, sums,
                                                           op=self.world.MPI.SUM)
        g_x_hat, g_sum = (part.reshape(self.g_sum.shape) for part in np.split(sums, 2))
        scale = self.inv_std if self.weight is None else self.inv_std * self.weight
        per_count = scale / (self.count * share)
        return multiply_subtract(grad, scale, self.x_hat, per_count * g_x_hat, per_count * g_sum)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over the global batch of all ranks (PyTorch's ``SyncBatchNorm``):
    per channel ``c``, ``y = γ_c (x - μ_c) / √(σ²_c + ε) + β_c`` with μ and σ² of the whole
    batch across ranks in training (see ``chainrule.distributed.sync_batchnorm``), so K ranks
    compute what one process computes on the whole batch, running statistics included.

    In evaluation mode, and in a single process, it is exactly ``BatchNorm1d``/``BatchNorm2d``;
    a saved model holding it loads and runs anywhere. Arguments as ``BatchNorm2d``.

    Shape:
        - Input: ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``; output:
          the same.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> bn = cr.distributed.SyncBatchNorm(3)
        >>> bn(cr.tensor(np.ones((4, 3, 2, 2), dtype=np.float32))).shape
        (4, 3, 2, 2)
    """

    _ranks, _layout = (2, 3, 4, 5), "(N, {C}, *)"
    # Buffers registered by _BatchNorm (None without running statistics), declared for the
    # type checker.
    running_mean: np.ndarray | None
    running_var: np.ndarray | None
    num_batches_tracked: np.ndarray | None

    def forward(self, x: Tensor) -> Tensor:
        world = current()
        if not self.training or world is None or world.size == 1:
            return super().forward(x)
        if not isinstance(x, Tensor) or x.ndim not in self._ranks or x.shape[1] != \
                self.num_features:
            return super().forward(x)  # its checks raise the error naming the layer
        momentum = self.momentum
        tracked = self.num_batches_tracked
        if tracked is not None:  # track_running_stats
            tracked += 1  # in place: the buffer itself
            if momentum is None:
                momentum = 1.0 / float(tracked)
        return _SyncBatchNormOp.apply(
            *(t for t in (x, self.weight, self.bias) if t is not None),
            running_mean=self.running_mean, running_var=self.running_var,
            momentum=momentum, eps=self.eps, world=world)


def convert_sync_batchnorm(module: Module) -> Module:
    """Replace every ``BatchNorm1d``/``BatchNorm2d`` inside ``module`` by a ``SyncBatchNorm``
    holding the same parameters and statistics (an optimizer built before keeps working);
    returns ``module`` (or the replacement, if ``module`` itself is a batch norm).

    Example:
        >>> import chainrule as cr
        >>> model = cr.nn.Sequential(cr.nn.Conv2d(1, 4, 3), cr.nn.BatchNorm2d(4))
        >>> type(cr.distributed.convert_sync_batchnorm(model)[1]).__name__
        'SyncBatchNorm'
    """
    if isinstance(module, (BatchNorm1d, BatchNorm2d)):
        return _synchronised(module)
    for parent in list(module.modules()):
        for name, child in list(parent._modules.items()):
            if isinstance(child, (BatchNorm1d, BatchNorm2d)):
                replacement = _synchronised(child)
                parent._modules[name] = replacement  # in place: the layer order is kept
                object.__setattr__(parent, name, replacement)
    return module


def _synchronised(norm: _BatchNorm) -> SyncBatchNorm:
    arrays = list(norm.state_dict().values())  # the weights first, then the statistics
    dtype = arrays[0].dtype if arrays else np.float32
    sync = SyncBatchNorm(norm.num_features, eps=norm.eps, momentum=norm.momentum,
                         affine=norm.affine, track_running_stats=norm.track_running_stats,
                         dtype=dtype)
    for name in ("weight", "bias"):
        if norm.affine:
            setattr(sync, name, getattr(norm, name))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        setattr(sync, name, getattr(norm, name))
    sync.train(norm.training)
    return sync
