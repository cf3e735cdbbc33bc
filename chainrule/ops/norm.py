"""Batch and layer normalisation, each one fused op: statistics, normalisation and the affine
map forward, and the closed-form gradient backward (one node instead of a dozen primitives,
and no catastrophic cancellation from differentiating the variance term by term).

Both standardise ``x̂ = (x - μ) / √(σ² + ε)`` over some axes and return ``y = γ x̂ + β``; they
differ only in which axes (batch norm: all but the channel axis; layer norm: the last ones).
"""

from __future__ import annotations

import numbers

from ..autograd import Function
from ..backend import array_module
from ..tensor import Tensor
from .conv import _empty

__all__ = ["BatchNorm", "LayerNorm", "batch_norm", "layer_norm"]

# Every full-size array here comes from the convolution workspace (``_empty``): a batch of
# feature maps is megabytes, and fresh memory of that size costs page faults at every step.


def _sum_product(a, b, axes: tuple):
    """``Σ a ⊙ b`` over ``axes`` (kept as length 1), without an ``a ⊙ b`` temporary."""
    letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
    kept = "".join(c for i, c in enumerate(letters) if i not in axes)
    total = array_module(a).einsum(f"{letters},{letters}->{kept}", a, b)
    return total.reshape([1 if i in axes else n for i, n in enumerate(a.shape)])


def _standardize(x, axes: tuple, eps: float):
    """``x̂``, ``1/√(σ² + ε)``, μ and σ² (the last three kept broadcastable) over ``axes``; σ²
    is biased and taken from the centred values (stable where E[x²] - E[x]² would cancel)."""
    xp = array_module(x)
    mean = x.mean(axis=axes, keepdims=True)
    x_hat = xp.subtract(x, mean, out=_empty(xp, x.shape, x.dtype))
    var = _sum_product(x_hat, x_hat, axes) / (x.size // mean.size)
    inv_std = 1 / xp.sqrt(var + eps)
    x_hat *= inv_std
    return x_hat, inv_std, mean, var


def _combine(g, g_scale, x_hat, x_hat_scale, shift):
    """``g · g_scale - x̂ · x_hat_scale - shift`` (the scales broadcast) in two full passes
    and one temporary: every normalisation's input gradient has this form."""
    xp = array_module(g)
    dtype = xp.result_type(g, g_scale, x_hat)
    gx = xp.multiply(g, g_scale, out=_empty(xp, g.shape, dtype))
    gx -= xp.multiply(x_hat, x_hat_scale, out=_empty(xp, g.shape, dtype))
    gx -= shift
    return gx


class _Normalize(Function):
    """The affine map and the parameter gradients, shared by batch and layer norm; subclasses
    set ``param_axes`` (the axes γ and β are broadcast over), ``x_hat`` and ``inv_std`` and
    give the input gradient (``_input_grad``). The inputs are ``x``, optionally γ, optionally
    β (only after γ)."""

    def _affine(self, weight, bias, param_shape):
        self.weight = None if weight is None else weight.reshape(param_shape)
        if weight is None:
            return self.x_hat
        xp = array_module(weight)
        y = _empty(xp, self.x_hat.shape, xp.result_type(self.x_hat, weight))
        xp.multiply(self.x_hat, self.weight, out=y)
        if bias is not None:
            y += bias.reshape(param_shape)
        return y

    def backward(self, grad):
        parents = self.parents
        grads = [None] * len(parents)
        # Σ g x̂ and Σ g over the parameter axes: dL/dγ and dL/dβ (batch norm reuses them).
        self.g_x_hat = _sum_product(grad, self.x_hat, self.param_axes)
        self.g_sum = grad.sum(axis=self.param_axes, keepdims=True)
        if len(parents) > 1 and parents[1].requires_grad:
            grads[1] = self.g_x_hat.reshape(parents[1].shape)
        if len(parents) > 2 and parents[2].requires_grad:
            grads[2] = self.g_sum.reshape(parents[2].shape)
        if parents[0].requires_grad:
            grads[0] = self._input_grad(grad)
        return tuple(grads)


class BatchNorm(_Normalize):
    """Per channel c (axis 1), over the batch and any spatial axes:
    x̂ = (x - μ_c) / √(σ²_c + ε), y = γ_c x̂ + β_c
    (training: μ, σ² of this batch; evaluation: the running estimates, constants)

    dL/dx = (γ/√(σ² + ε)) (g - mean(g) - x̂ mean(g x̂))   (batch statistics)
    dL/dx = (γ/√(σ² + ε)) g                              (running statistics)
    dL/dγ = Σ g x̂,  dL/dβ = Σ g   (sums over all axes but the channel axis)

    With batch statistics and running buffers given, the buffers are updated in place:
    ``r ← (1 - momentum) r + momentum · s`` with the unbiased batch variance, as PyTorch does.
    """

    def forward(self, x, weight=None, bias=None, running_mean=None, running_var=None,
                use_batch_stats=True, momentum=0.1, eps=1e-5):
        param_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.param_axes = (0, *range(2, x.ndim))
        self.batch_stats, self.count = use_batch_stats, x.size // x.shape[1]
        if use_batch_stats:
            self.x_hat, self.inv_std, mean, var = _standardize(x, self.param_axes, eps)
            if running_mean is not None:
                count = self.count
                running_mean *= 1 - momentum
                running_mean += momentum * mean.reshape(-1)
                running_var *= 1 - momentum
                running_var += (momentum * count / max(count - 1, 1)) * var.reshape(-1)
        else:
            xp = array_module(x)
            self.inv_std = (1 / xp.sqrt(running_var + eps)).reshape(param_shape).astype(
                x.dtype, copy=False)
            self.x_hat = xp.subtract(x, running_mean.reshape(param_shape).astype(x.dtype),
                                     out=_empty(xp, x.shape, x.dtype))
            self.x_hat *= self.inv_std
        return self._affine(weight, bias, param_shape)

    def _input_grad(self, grad):
        scale = self.inv_std if self.weight is None else self.inv_std * self.weight
        if not self.batch_stats:
            return grad * scale
        # mean(γ g) = γ Σg / M and mean(γ g x̂) = γ Σ g x̂ / M: the parameter gradients' sums.
        per_count = scale / self.count
        return _combine(grad, scale, self.x_hat, per_count * self.g_x_hat,
                        per_count * self.g_sum)


class LayerNorm(_Normalize):
    """Per sample, over the last ``ndim`` axes (the ``normalized_shape``):
    x̂ = (x - μ) / √(σ² + ε), y = γ ⊙ x̂ + β   (γ, β of the normalised shape)

    dL/dx = (1/√(σ² + ε)) (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)) with ĝ = γ ⊙ g (means over those axes)
    dL/dγ = Σ g x̂,  dL/dβ = Σ g   (sums over the leading axes)
    """

    def forward(self, x, weight=None, bias=None, ndim=1, eps=1e-5):
        self.axes = tuple(range(x.ndim - ndim, x.ndim))
        self.param_axes = tuple(range(x.ndim - ndim))
        self.x_hat, self.inv_std = _standardize(x, self.axes, eps)[:2]
        return self._affine(weight, bias, x.shape[x.ndim - ndim:])

    def _input_grad(self, grad):
        g_hat = grad if self.weight is None else grad * self.weight
        count = g_hat.size // self.inv_std.size
        inv_std = self.inv_std
        return _combine(g_hat, inv_std, self.x_hat,
                        inv_std * _sum_product(g_hat, self.x_hat, self.axes) / count,
                        inv_std * g_hat.mean(axis=self.axes, keepdims=True))


def _affine_inputs(caller: str, x: Tensor, weight, bias) -> tuple:
    if weight is None and bias is not None:
        raise ValueError(f"{caller}: a bias needs a weight (pass weight=ones to shift only)")
    return tuple(t for t in (x, weight, bias) if t is not None)


def batch_norm(x: Tensor, running_mean=None, running_var=None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalisation over all axes but the channel axis 1 (PyTorch's ``batch_norm``).

    ``y = γ (x - μ) / √(σ² + ε) + β`` per channel, with μ, σ² the batch's statistics when
    ``training`` (or when no running statistics are given), else ``running_mean``/``running_var``.
    In training the running arrays (NumPy, shape (C,)) are updated in place:
    ``r ← (1 - momentum) r + momentum · batch statistic`` (the variance unbiased).

    Shape:
        - x: (N, C) or (N, C, *); running statistics, weight, bias: (C,); output: like x.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> from chainrule.ops.norm import batch_norm
        >>> y = batch_norm(cr.tensor([[1.0], [3.0]]), training=True)
        >>> np.round(y.data.ravel(), 3)
        array([-1.,  1.], dtype=float32)
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got {x.shape}")
    channels = x.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        if value is not None and value.shape != (channels,):
            raise ValueError(f"batch_norm: {name} must have shape ({channels},) for input of "
                             f"shape {x.shape}, got {value.shape}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: pass both running_mean and running_var, or neither")
    use_batch_stats = training or running_mean is None
    if use_batch_stats and x.size == channels:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {x.shape}")
    return BatchNorm.apply(*_affine_inputs("batch_norm", x, weight, bias),
                           running_mean=running_mean, running_var=running_var,
                           use_batch_stats=use_batch_stats, momentum=momentum, eps=eps)


def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the last axes (PyTorch's ``layer_norm``).

    ``y = γ ⊙ (x - μ) / √(σ² + ε) + β`` with μ, σ² over the trailing ``normalized_shape``
    axes of each sample (biased σ²).

    Shape:
        - x: (*, *normalized_shape); weight, bias: normalized_shape; output: like x.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> from chainrule.ops.norm import layer_norm
        >>> np.round(layer_norm(cr.tensor([[1.0, 3.0]]), 2).data, 3)
        array([[-1.,  1.]], dtype=float32)
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) \
        else tuple(normalized_shape)
    if not shape or x.shape[x.ndim - len(shape):] != shape or len(shape) > x.ndim:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end with the "
                         f"normalized shape {shape}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value.shape != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {value.shape}")
    return LayerNorm.apply(*_affine_inputs("layer_norm", x, weight, bias), ndim=len(shape), eps=eps)
