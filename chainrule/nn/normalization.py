"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d`` (running statistics, train/eval
behaviour) and ``LayerNorm``, over ``nn.functional.batch_norm`` and ``layer_norm``."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..tensor import Tensor
from . import functional as F
from .functional._checks import ArgumentValueError, require_flags, require_real, require_size
from .functional.normalization import require_batch_layout
from .module import Module, Parameter
from .sizes import shape_size, size

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d"]


def _affine(module: Module, shape: int | tuple[int, ...], dtype: npt.DTypeLike, weight: bool,
            bias: bool) -> None:
    """Register the learnable scale γ (initially 1) and shift β (initially 0) of ``shape``,
    each ``None`` when it is not learnt."""
    module.register_parameter("weight", Parameter(np.ones(shape, dtype=dtype)) if weight else None)
    module.register_parameter("bias", Parameter(np.zeros(shape, dtype=dtype)) if bias else None)


class _BatchNorm(Module):
    """Shared by ``BatchNorm1d`` and ``BatchNorm2d``, which differ only in the input ranks
    they accept (``_ranks``) and how they describe them."""

    _ranks: tuple[int, ...] = ()
    _layout = ""
    weight: Parameter | None
    bias: Parameter | None
    # None without track_running_stats
    running_mean: np.ndarray | None
    running_var: np.ndarray | None
    num_batches_tracked: np.ndarray | None

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: npt.DTypeLike = np.float32):
        super().__init__()
        name = type(self).__name__
        require_size(name, "num_features", num_features)
        require_real(name, "eps", eps, 0.0, low_open=True)
        if momentum is not None:
            require_real(name, "momentum", momentum, 0.0, 1.0)
        require_flags(name, affine=affine, track_running_stats=track_running_stats)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine(self, num_features, dtype, affine, affine)
        if track_running_stats:
            # Buffers in the parameters' dtype; Module.astype converts them with the weights.
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    @classmethod
    def state_size(cls, arguments: dict[str, Any], submodules: dict[str, int]) -> int:
        features = size(cls.__name__, arguments, "num_features")
        # weight and bias; running mean and variance, and the batch count
        return (2 * features if arguments["affine"] else 0) + (
            2 * features + 1 if arguments["track_running_stats"] else 0)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            assert self.running_mean is not None and self.running_var is not None
            assert self.num_batches_tracked is not None
            self.running_mean.fill(0)
            self.running_var.fill(1)
            self.num_batches_tracked.fill(0)

    def forward(self, x: Tensor) -> Tensor:
        require_batch_layout(x, self._ranks, self.num_features,
                             self._layout.format(C=self.num_features))
        momentum, counter = self.momentum, None
        if self.training and self.track_running_stats:
            assert self.num_batches_tracked is not None
            if momentum is None:  # a cumulative average over all batches seen
                self.num_batches_tracked += 1
                momentum = 1.0 / float(self.num_batches_tracked)
            else:  # counted by the op, so a captured step (cr.compile) counts its batches
                counter = self.num_batches_tracked
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training or not self.track_running_stats,
                            momentum=momentum, eps=self.eps, num_batches_tracked=counter)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of features ``(N, C)`` or sequences ``(N, C, L)`` (PyTorch's
    ``BatchNorm1d``): per channel ``c``,

    ``y = γ_c (x - μ_c) / √(σ²_c + ε) + β_c``

    In training, μ and σ² are the batch's statistics over all axes but ``C`` (σ² biased), and
    the running estimates move towards them: ``r ← (1 - momentum) r + momentum · s`` (σ²
    unbiased; ``momentum=None`` averages all batches equally). In eval mode the running
    estimates are used, so the output of a sample no longer depends on its batch.

    Args:
        num_features: C.
        eps: added to the variance for stability.
        momentum: weight of each new batch in the running statistics (None: cumulative).
        affine: learn γ (initially 1) and β (initially 0).
        track_running_stats: keep running estimates; if False, batch statistics are used in
            eval mode too.
        dtype: dtype of γ, β and the running statistics (float32 by default).

    Shape:
        - Input: ``(N, C)`` or ``(N, C, L)``; output: the same.

    Example:
        >>> import chainrule as cr
        >>> bn = cr.nn.BatchNorm1d(2)
        >>> y = bn(cr.tensor([[1.0, 10.0], [3.0, 30.0]]))
        >>> y.data.round(3).tolist(), bn.running_mean.tolist()
        ([[-1.0, -1.0], [1.0, 1.0]], [0.20000000298023224, 2.0])
    """

    _ranks, _layout = (2, 3), "(N, {C}) or (N, {C}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images ``(N, C, H, W)`` (PyTorch's ``BatchNorm2d``): per channel
    ``c``, with statistics over the batch and both spatial axes,

    ``y = γ_c (x - μ_c) / √(σ²_c + ε) + β_c``

    Training and eval behave as in ``BatchNorm1d`` (batch statistics and running-estimate
    updates in training, the running estimates in eval).

    Shape:
        - Input: ``(N, C, H, W)``; output: the same.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> bn = cr.nn.BatchNorm2d(8).eval()
        >>> bn(cr.tensor(np.ones((2, 8, 4, 4), dtype=np.float32))).shape
        (2, 8, 4, 4)
    """

    _ranks, _layout = (4,), "(N, {C}, H, W)"


class LayerNorm(Module):
    """Layer normalisation over the last axes of each sample (PyTorch's ``LayerNorm``):

    ``y = γ ⊙ (x - μ) / √(σ² + ε) + β``, μ and σ² (biased) over the trailing
    ``normalized_shape`` axes; the same in training and evaluation (no running statistics).

    Args:
        normalized_shape: int or tuple, the trailing shape to normalise over.
        eps: added to the variance for stability.
        elementwise_affine: learn γ (initially 1) and, if ``bias``, β (initially 0), each of
            ``normalized_shape``.
        bias: learn β too.
        dtype: dtype of γ and β (float32 by default).

    Shape:
        - Input: ``(*, *normalized_shape)``; output: the same.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.LayerNorm(2)(cr.tensor([[1.0, 3.0]])).data.round(3).tolist()
        [[-1.0, 1.0]]
    """

    weight: Parameter | None
    bias: Parameter | None

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True,
                 bias: bool = True, dtype: npt.DTypeLike = np.float32):
        super().__init__()
        require_real("LayerNorm", "eps", eps, 0.0, low_open=True)
        require_flags("LayerNorm", elementwise_affine=elementwise_affine, bias=bias)
        # (the type checker does not narrow an int to numbers.Integral)
        shape: tuple[int, ...] = (
            (normalized_shape,) if isinstance(normalized_shape, numbers.Integral)  # type: ignore[assignment]
            else tuple(normalized_shape))  # type: ignore[arg-type]
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        _affine(self, shape, dtype, elementwise_affine, elementwise_affine and bias)

    @classmethod
    def state_size(cls, arguments: dict[str, Any], submodules: dict[str, int]) -> int:
        features = shape_size("LayerNorm", arguments, "normalized_shape")
        affine = arguments["elementwise_affine"]
        return (features if affine else 0) + (features if affine and arguments["bias"] else 0)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Group normalisation (PyTorch's ``GroupNorm``): the channels split into ``num_groups``
    groups, each standardised per sample over its channels and positions, then a
    per-channel ``γ[c] x̂ + β[c]`` (``nn.functional.group_norm``). No running statistics: the
    same in training and evaluation.

    Args:
        num_groups: G, dividing ``num_channels``.
        num_channels: C.
        eps: added to the variance for stability.
        affine: learn γ (initially 1) and β (initially 0) of shape (C,).
        dtype: dtype of γ and β (float32 by default).

    Shape:
        - Input: ``(N, C, *)``; output: the same.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> norm = cr.nn.GroupNorm(2, 4)
        >>> norm(cr.tensor(np.ones((3, 4, 5, 5), dtype=np.float32))).shape
        (3, 4, 5, 5)
    """

    weight: Parameter | None
    bias: Parameter | None

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, dtype: npt.DTypeLike = np.float32):
        super().__init__()
        name = type(self).__name__
        require_size(name, "num_groups", num_groups)
        require_size(name, "num_channels", num_channels)
        require_real(name, "eps", eps, 0.0, low_open=True)
        require_flags(name, affine=affine)
        if num_channels % num_groups:
            raise ValueError(f"{type(self).__name__}: num_groups={num_groups} must divide "
                             f"num_channels={num_channels}")
        self.num_groups, self.num_channels, self.eps, self.affine = (num_groups, num_channels,
                                                                    eps, affine)
        _affine(self, num_channels, dtype, affine, affine)

    @classmethod
    def state_size(cls, arguments: dict[str, Any], submodules: dict[str, int]) -> int:
        return 2 * size(cls.__name__, arguments, "num_channels") if arguments["affine"] else 0

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class InstanceNorm2d(Module):
    """Instance normalisation of images (PyTorch's ``InstanceNorm2d``, whose defaults it
    keeps: no affine map, no running statistics): each channel of each sample standardised
    over its H·W positions (``nn.functional.instance_norm``).

    Args:
        num_features: C.
        eps: added to the variance for stability.
        affine: learn γ (initially 1) and β (initially 0) of shape (C,).
        dtype: dtype of γ and β (float32 by default).

    Shape:
        - Input: ``(N, C, H, W)``; output: the same.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> cr.nn.InstanceNorm2d(3)(cr.tensor(np.ones((2, 3, 4, 4), dtype=np.float32))).shape
        (2, 3, 4, 4)
    """

    weight: Parameter | None
    bias: Parameter | None

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = False,
                 dtype: npt.DTypeLike = np.float32):
        super().__init__()
        name = type(self).__name__
        require_size(name, "num_features", num_features)
        require_real(name, "eps", eps, 0.0, low_open=True)
        require_flags(name, affine=affine)
        self.num_features, self.eps, self.affine = num_features, eps, affine
        _affine(self, num_features, dtype, affine, affine)

    @classmethod
    def state_size(cls, arguments: dict[str, Any], submodules: dict[str, int]) -> int:
        return 2 * size(cls.__name__, arguments, "num_features") if arguments["affine"] else 0

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ArgumentValueError("instance_norm", f"expected input of shape (N, "
                                     f"{self.num_features}, H, W), got {x.shape}")
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, affine={self.affine}"
