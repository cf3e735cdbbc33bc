"""Batch and layer normalisation, each one fused op: statistics, normalisation and the affine
map forward, and the closed-form gradient backward (one node instead of a dozen primitives,
and no catastrophic cancellation from differentiating the variance term by term).

Both standardise ``x̂ = (x - μ) / √(σ² + ε)`` over some axes and return ``y = γ x̂ + β``; they
differ only in which axes (batch norm: all but the channel axis; layer norm: the last ones).

Every full-size array comes from the workspace (``backend.workspace``): a batch of feature maps
is megabytes, and fresh memory of that size costs page faults at every step. Arguments are
checked by ``chainrule.nn.functional`` (``batch_norm``, ``layer_norm``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd import Function, composite_gradients
from ..backend import array_module
from ..backend.normalization import multiply_subtract, sum_product
from ..backend.workspace import empty

__all__ = ["BatchNorm", "LayerNorm"]


def _standardize(x: Any, axes: tuple[int, ...], eps: float) -> Any:
    """``x̂``, ``1/√(σ² + ε)``, μ and σ² (the last three kept broadcastable) over ``axes``; σ²
    is biased and taken from the centred values (stable where E[x²] - E[x]² would cancel)."""
    xp = array_module(x)
    mean = x.mean(axis=axes, keepdims=True)
    x_hat = xp.subtract(x, mean, out=empty(xp, x.shape, x.dtype))
    var = sum_product(x_hat, x_hat, axes) / (x.size // mean.size)
    inv_std = 1 / xp.sqrt(var + eps)
    x_hat *= inv_std
    return x_hat, inv_std, mean, var


class _Normalize(Function):
    """The affine map and the parameter gradients, shared by batch and layer norm; subclasses
    set ``param_axes`` (the axes γ and β are broadcast over), ``x_hat`` and ``inv_std`` and
    give the input gradient (``_input_grad``). The inputs are ``x``, optionally γ, optionally
    β (only after γ)."""

    param_axes: tuple[int, ...]  # set by forward, as are the rest
    axes: tuple[int, ...]  # the normalised axes
    eps: float
    statistics: tuple[Any, Any] | None  # the constant (μ, 1/√(σ² + ε)) in evaluation, else None
    x_hat: Any
    inv_std: Any
    weight: Any  # γ reshaped to broadcast, or None
    _input_grad: Callable[[Any], Any]  # dL/dx from dL/dy (a method of each subclass)

    def _affine(self, weight: Any, bias: Any, param_shape: tuple[int, ...]) -> Any:
        self.weight = None if weight is None else weight.reshape(param_shape)
        if weight is None:
            return self.x_hat
        xp = array_module(weight)
        y = empty(xp, self.x_hat.shape, xp.result_type(self.x_hat, weight))
        xp.multiply(self.x_hat, self.weight, out=y)
        if bias is not None:
            y += bias.reshape(param_shape)
        return y

    def backward(self, grad: Any) -> Any:
        parents = self.parents or ()
        grads = [None] * len(parents)
        # Σ g x̂ and Σ g over the parameter axes: dL/dγ and dL/dβ (batch norm reuses them).
        self.g_x_hat = sum_product(grad, self.x_hat, self.param_axes)
        self.g_sum = grad.sum(axis=self.param_axes, keepdims=True)
        if len(parents) > 1 and parents[1].requires_grad:
            grads[1] = self.g_x_hat.reshape(parents[1].shape)
        if len(parents) > 2 and parents[2].requires_grad:
            grads[2] = self.g_sum.reshape(parents[2].shape)
        if parents[0].requires_grad:
            grads[0] = self._input_grad(grad)
        return tuple(grads)

    def backward_graph(self, grad: Any) -> Any:
        # The rule reads x̂ and 1/√(σ² + ε) saved as arrays: differentiate the forward written
        # with recorded ops instead (statistics of this batch, or the constant running ones).
        x, *affine = self.parents or ()
        if self.statistics is None:
            centred = x - x.mean(axis=self.axes, keepdims=True)
            var = (centred * centred).mean(axis=self.axes, keepdims=True)
            x_hat = centred / (var + self.eps).sqrt()
        else:
            mean, inv_std = self.statistics
            x_hat = (x - mean) * inv_std
        if affine:
            x_hat = x_hat * affine[0].reshape(self.weight.shape)
        if len(affine) == 2:
            x_hat = x_hat + affine[1].reshape(self.weight.shape)
        return composite_gradients(self, x_hat, grad)


class BatchNorm(_Normalize):
    """Per channel c (axis 1), over the batch and any spatial axes:
    x̂ = (x - μ_c) / √(σ²_c + ε), y = γ_c x̂ + β_c
    (training: μ, σ² of this batch; evaluation: the running estimates, constants)

    dL/dx = (γ/√(σ² + ε)) (g - mean(g) - x̂ mean(g x̂))   (batch statistics)
    dL/dx = (γ/√(σ² + ε)) g                              (running statistics)
    dL/dγ = Σ g x̂,  dL/dβ = Σ g   (sums over all axes but the channel axis)

    With batch statistics and running buffers given, the buffers are updated in place:
    ``r ← (1 - momentum) r + momentum · s`` with the unbiased batch variance, as PyTorch does,
    and ``num_batches_tracked`` (a 0-d array), if given, counts the batch.
    """

    def forward(self, x: Any, weight: Any = None, bias: Any = None, running_mean: Any = None,
                running_var: Any = None, use_batch_stats: bool = True, momentum: float = 0.1,
                eps: float = 1e-5, num_batches_tracked: Any = None) -> Any:
        param_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.param_axes = self.axes = (0, *range(2, x.ndim))
        self.eps, self.statistics = eps, None
        self.batch_stats, self.count = use_batch_stats, x.size // x.shape[1]
        if use_batch_stats:
            self.x_hat, self.inv_std, mean, var = _standardize(x, self.param_axes, eps)
            if running_mean is not None:
                count = self.count
                running_mean *= 1 - momentum
                running_mean += momentum * mean.reshape(-1)
                running_var *= 1 - momentum
                running_var += (momentum * count / max(count - 1, 1)) * var.reshape(-1)
                if num_batches_tracked is not None:
                    num_batches_tracked += 1
        else:
            xp = array_module(x)
            self.inv_std = (1 / xp.sqrt(running_var + eps)).reshape(param_shape).astype(
                x.dtype, copy=False)
            mean = running_mean.reshape(param_shape).astype(x.dtype)
            self.x_hat = xp.subtract(x, mean, out=empty(xp, x.shape, x.dtype))
            self.x_hat *= self.inv_std
            self.statistics = mean, self.inv_std
        return self._affine(weight, bias, param_shape)

    def _input_grad(self, grad: Any) -> Any:
        scale = self.inv_std if self.weight is None else self.inv_std * self.weight
        if not self.batch_stats:
            return grad * scale
        # mean(γ g) = γ Σg / M and mean(γ g x̂) = γ Σ g x̂ / M: the parameter gradients' sums.
        per_count = scale / self.count
        return multiply_subtract(grad, scale, self.x_hat, per_count * self.g_x_hat,
                                 per_count * self.g_sum)


class LayerNorm(_Normalize):
    """Per sample, over the last ``ndim`` axes (the ``normalized_shape``):
    x̂ = (x - μ) / √(σ² + ε), y = γ ⊙ x̂ + β   (γ, β of the normalised shape)

    dL/dx = (1/√(σ² + ε)) (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)) with ĝ = γ ⊙ g (means over those axes)
    dL/dγ = Σ g x̂,  dL/dβ = Σ g   (sums over the leading axes)
    """

    def forward(self, x: Any, weight: Any = None, bias: Any = None, ndim: int = 1,
                eps: float = 1e-5) -> Any:
        self.axes = tuple(range(x.ndim - ndim, x.ndim))
        self.param_axes = tuple(range(x.ndim - ndim))
        self.eps, self.statistics = eps, None
        self.x_hat, self.inv_std = _standardize(x, self.axes, eps)[:2]
        return self._affine(weight, bias, x.shape[x.ndim - ndim:])

    def _input_grad(self, grad: Any) -> Any:
        g_hat = grad if self.weight is None else grad * self.weight
        count = g_hat.size // self.inv_std.size
        inv_std = self.inv_std
        return multiply_subtract(g_hat, inv_std, self.x_hat,
                                 inv_std * sum_product(g_hat, self.x_hat, self.axes) / count,
                                 inv_std * g_hat.mean(axis=self.axes, keepdims=True))
