"""Op cases for the core primitives: elementwise, activation, reduce, shape, linalg, loss."""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.ops.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from chainrule.ops.dropout import Dropout
from chainrule.ops.elementwise import (
    Abs,
    Add,
    Cast,
    Clip,
    Div,
    Exp,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    PowScalar,
    Sqrt,
    Sub,
)
from chainrule.ops.linalg import Linear, MatMul
from chainrule.ops.loss import MSE, BCEWithLogits, CrossEntropy
from chainrule.ops.reduce import Max, Mean, Min, Sum
from chainrule.ops.shape import (
    Concatenate,
    Index,
    IndexAdjoint,
    Reshape,
    Stack,
    Transpose,
    Where,
)

from . import OpCase, draws

__all__ = ["CASES"]

_u = draws(0)


def _pos(*shape):
    """Positive values away from 0 (inputs of log, sqrt, divisors, bases of powers)."""
    return _u(*shape, low=0.5, high=2.0)


def _signed(*shape):
    """Values of both signs away from 0, so |x|, x > 0 and 1/x are smooth near them."""
    return _u(*shape, low=0.5, high=2.0) * np.where(_u(*shape) > 0, 1.0, -1.0)


def _a(*values):
    return np.array(values, dtype=np.float64)


# ------------------------------------------------------------------ NumPy references
_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def _onehot(labels, n_classes):
    return np.eye(n_classes)[labels]


def _cross_entropy(logits, labels, weight=None, smoothing=0.0, ignore=-100):
    """Integer-label cross-entropy, mean over counted labels (weighted), as PyTorch defines it."""
    if logits.ndim > 2:
        logits = np.moveaxis(logits, 1, -1).reshape(-1, logits.shape[1])
        labels = labels.reshape(-1)
    n_classes = logits.shape[1]
    valid = labels != ignore
    safe = np.where(valid, labels, 0)
    q = (1 - smoothing) * _onehot(safe, n_classes) + smoothing / n_classes
    w = np.ones(n_classes) if weight is None else weight
    losses = -(q * w * _log_softmax(logits, 1)).sum(axis=1) * valid
    return losses.sum() / (w[safe] * valid).sum()


def _bce(x, y, pos_weight=None, weight=None, reduction="mean"):
    p = 1.0 if pos_weight is None else pos_weight
    losses = (1 - y) * x + (1 + (p - 1) * y) * _softplus(-x)
    if weight is not None:
        losses = losses * weight
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


def _scatter_rows(a, index):
    out = np.zeros((4, *a.shape[1:]))
    np.add.at(out, index, a)
    return out


def _t(torch, array, like=None):
    """A NumPy constant as a torch tensor; float constants take ``like``'s dtype."""
    out = torch.as_tensor(np.asarray(array))
    return out.to(like.dtype) if like is not None and out.is_floating_point() else out


# ------------------------------------------------------------------ elementwise arithmetic
_ELEMENTWISE = [
    OpCase("add_broadcast_row", (Add,), lambda a, b: a + b, np.add, (_u(3, 4), _u(4)),
           torch_fn=lambda torch, a, b: a + b),
    OpCase("add_broadcast_both", (Add,), lambda a, b: a + b, np.add, (_u(2, 1, 3), _u(4, 1)),
           torch_fn=lambda torch, a, b: a + b),
    OpCase("add_0d_and_vector", (Add,), lambda a, b: a + b, np.add, (_u(), _u(3)),
           torch_fn=lambda torch, a, b: a + b),
    OpCase("add_int_constant", (Add,), lambda a: a + 2, lambda a: a + 2, (_u(3),),
           torch_fn=lambda torch, a: a + 2),
    OpCase("radd_float_constant", (Add,), lambda a: 1.5 + a, lambda a: 1.5 + a, (_u(2, 2),),
           torch_fn=lambda torch, a: 1.5 + a),
    OpCase("sub_broadcast_column", (Sub,), lambda a, b: a - b, np.subtract, (_u(3, 4), _u(3, 1)),
           torch_fn=lambda torch, a, b: a - b),
    OpCase("sub_0d_0d", (Sub,), lambda a, b: a - b, np.subtract, (_u(), _u()),
           torch_fn=lambda torch, a, b: a - b),
    OpCase("rsub_constant", (Sub,), lambda a: 3.0 - a, lambda a: 3.0 - a, (_u(4),),
           torch_fn=lambda torch, a: 3.0 - a),
    OpCase("mul_broadcast_new_axis", (Mul,), lambda a, b: a * b, np.multiply,
           (_u(2, 3), _u(2, 1, 3)), torch_fn=lambda torch, a, b: a * b),
    OpCase("mul_numpy_scalar", (Mul,), lambda a: a * np.float64(1.5), lambda a: a * 1.5,
           (_u(3),), torch_fn=lambda torch, a: a * 1.5),
    OpCase("mul_0d", (Mul,), lambda a, b: a * b, np.multiply, (_u(), _u(2, 3)),
           torch_fn=lambda torch, a, b: a * b),
    OpCase("div_broadcast", (Div,), lambda a, b: a / b, np.divide, (_u(3, 4), _signed(4)),
           torch_fn=lambda torch, a, b: a / b),
    OpCase("div_0d_denominator", (Div,), lambda a, b: a / b, np.divide, (_u(2, 3), _signed()),
           torch_fn=lambda torch, a, b: a / b),
    OpCase("div_by_constant", (Div,), lambda a: a / 4, lambda a: a / 4, (_u(3),),
           torch_fn=lambda torch, a: a / 4),
    OpCase("rdiv_constant", (Div,), lambda a: 2 / a, lambda a: 2 / a, (_signed(5),),
           torch_fn=lambda torch, a: 2 / a),
    OpCase("neg", (Neg,), lambda a: -a, np.negative, (_u(2, 3),),
           torch_fn=lambda torch, a: -a),
    OpCase("pow_tensor_tensor", (Pow,), lambda a, b: a**b, np.power,
           (_pos(3, 4), _u(4, low=-1.5, high=1.5)), torch_fn=lambda torch, a, b: a**b),
    OpCase("rpow_constant_base", (Pow,), lambda a: 2.0**a, lambda a: 2.0**a, (_u(3),),
           torch_fn=lambda torch, a: 2.0**a),
    OpCase("pow_square", (PowScalar,), lambda a: a**2, np.square, (_u(3, 2),),
           torch_fn=lambda torch, a: a**2),
    OpCase("pow_cube", (PowScalar,), lambda a: a**3, lambda a: a**3, (_u(4),),
           torch_fn=lambda torch, a: a**3),
    OpCase("pow_sqrt", (PowScalar,), lambda a: a**0.5, np.sqrt, (_pos(4),),
           torch_fn=lambda torch, a: a**0.5),
    OpCase("pow_reciprocal", (PowScalar,), lambda a: a**-1, lambda a: 1 / a, (_signed(4),),
           torch_fn=lambda torch, a: a**-1),
    OpCase("pow_numpy_scalar_exponent", (PowScalar,), lambda a: a ** np.float64(2.0),
           np.square, (_u(3),), torch_fn=lambda torch, a: a**2.0),
    OpCase("exp", (Exp,), lambda a: a.exp(), np.exp, (_u(2, 3),),
           torch_fn=lambda torch, a: a.exp()),
    OpCase("log", (Log,), lambda a: a.log(), np.log, (_pos(2, 3),),
           torch_fn=lambda torch, a: a.log()),
    OpCase("sqrt", (Sqrt,), lambda a: a.sqrt(), np.sqrt, (_pos(5),),
           torch_fn=lambda torch, a: a.sqrt()),
    OpCase("abs", (Abs,), lambda a: abs(a), np.abs, (_signed(2, 3),),
           torch_fn=lambda torch, a: a.abs()),
    OpCase("clip_both", (Clip,), lambda a: a.clip(-1.0, 1.0), lambda a: np.clip(a, -1, 1),
           (_u(6) * 1.5 + 0.05,), torch_fn=lambda torch, a: a.clamp(-1.0, 1.0)),
    OpCase("clip_lo_only", (Clip,), lambda a: a.clip(lo=0.3), lambda a: np.maximum(a, 0.3),
           (_u(6),), torch_fn=lambda torch, a: a.clamp(min=0.3)),
    OpCase("clip_hi_only", (Clip,), lambda a: a.clip(hi=-0.3), lambda a: np.minimum(a, -0.3),
           (_u(6),), torch_fn=lambda torch, a: a.clamp(max=-0.3)),
    OpCase("maximum_broadcast", (Maximum,), cr.maximum, np.maximum, (_u(3, 4), _u(4)),
           torch_fn=lambda torch, a, b: torch.maximum(a, b)),
    OpCase("maximum_constant", (Maximum,), lambda a: cr.maximum(a, 0.25),
           lambda a: np.maximum(a, 0.25), (_u(5),),
           torch_fn=lambda torch, a: torch.clamp(a, min=0.25)),
    OpCase("minimum_broadcast", (Minimum,), cr.minimum, np.minimum, (_u(2, 1), _u(2, 3)),
           torch_fn=lambda torch, a, b: torch.minimum(a, b)),
    OpCase("minimum_0d", (Minimum,), cr.minimum, np.minimum, (_u(), _u(4)),
           torch_fn=lambda torch, a, b: torch.minimum(a, b)),
    OpCase("cast_to_float64", (Cast,), lambda a: a.double(), lambda a: a, (_u(3),),
           keeps_dtype=False, torch_fn=lambda torch, a: a.double()),
    OpCase("cast_to_input_dtype", (Cast,), lambda a: a.astype(a.dtype), lambda a: a, (_u(3),),
           torch_fn=lambda torch, a: a.to(a.dtype)),
]

# ------------------------------------------------------------------ activations
_ACTIVATIONS = [
    OpCase("sigmoid", (Sigmoid,), lambda a: a.sigmoid(), _sigmoid, (_u(3, 4) * 3,),
           torch_fn=lambda torch, a: a.sigmoid()),
    OpCase("sigmoid_saturated", (Sigmoid,), lambda a: a.sigmoid(), _sigmoid,
           (_a(-60.0, -30.0, 30.0, 60.0),), torch_fn=lambda torch, a: a.sigmoid()),
    OpCase("tanh", (Tanh,), lambda a: a.tanh(), np.tanh, (_u(3, 4),),
           torch_fn=lambda torch, a: a.tanh()),
    OpCase("relu", (ReLU,), lambda a: a.relu(), lambda a: np.maximum(a, 0), (_signed(3, 4),),
           torch_fn=lambda torch, a: a.relu()),
    # A seed as the generator: each call draws the same mask (what the gradient check needs).
    OpCase("dropout", (Dropout,), lambda a: F.dropout(a, 0.25, generator=7),
           lambda a: a * (np.random.default_rng(7).random(a.shape, dtype=np.float32) >= 0.25)
           / 0.75, (_signed(4, 5),)),
    OpCase("leaky_relu", (LeakyReLU,), lambda a: F.leaky_relu(a, 0.2),
           lambda a: np.where(a > 0, a, 0.2 * a), (_signed(7),),
           torch_fn=lambda torch, a: torch.nn.functional.leaky_relu(a, 0.2)),
    OpCase("elu", (ELU,), lambda a: F.elu(a, 1.5),
           lambda a: np.where(a > 0, a, 1.5 * np.expm1(a)), (_signed(7),),
           torch_fn=lambda torch, a: torch.nn.functional.elu(a, 1.5)),
    # chainrule's erf is a rational approximation accurate to 1.5e-7.
    OpCase("gelu_erf", (GELU,), F.gelu, lambda a: a * 0.5 * (1 + _erf(a / math.sqrt(2))),
           (_u(9) * 2,), tolerance={"float32": (1e-5, 1e-6), "float64": (0.0, 1e-6)},
           torch_fn=lambda torch, a: torch.nn.functional.gelu(a)),
    OpCase("gelu_tanh", (GELU,), lambda a: F.gelu(a, approximate="tanh"),
           lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a**3))),
           (_u(9) * 2,),
           torch_fn=lambda torch, a: torch.nn.functional.gelu(a, approximate="tanh")),
    OpCase("softplus_beta", (Softplus,), lambda a: F.softplus(a, beta=2.0),
           lambda a: _softplus(2 * a) / 2, (_u(3, 3) * 3,),
           torch_fn=lambda torch, a: torch.nn.functional.softplus(a, beta=2.0)),
    OpCase("softmax_last_axis", (Softmax,), lambda a: a.softmax(), lambda a: _softmax(a, -1),
           (_u(3, 5),), torch_fn=lambda torch, a: a.softmax(-1)),
    OpCase("softmax_axis0_large", (Softmax,), lambda a: a.softmax(axis=0),
           lambda a: _softmax(a, 0), (_u(4, 2) * 300,), torch_fn=lambda torch, a: a.softmax(0)),
    OpCase("log_softmax_last_axis", (LogSoftmax,), lambda a: a.log_softmax(),
           lambda a: _log_softmax(a, -1), (_u(3, 5),),
           torch_fn=lambda torch, a: a.log_softmax(-1)),
    OpCase("log_softmax_axis1_3d", (LogSoftmax,), lambda a: a.log_softmax(axis=1),
           lambda a: _log_softmax(a, 1), (_u(2, 4, 3),),
           torch_fn=lambda torch, a: a.log_softmax(1)),
]

# ------------------------------------------------------------------ reductions
_REDUCTIONS = [
    OpCase("sum_all", (Sum,), lambda a: a.sum(), np.sum, (_u(3, 4),),
           torch_fn=lambda torch, a: a.sum()),
    OpCase("sum_0d", (Sum,), lambda a: a.sum(), np.sum, (_u(),),
           torch_fn=lambda torch, a: a.sum()),
    OpCase("sum_axis", (Sum,), lambda a: a.sum(axis=1), lambda a: a.sum(axis=1), (_u(3, 4),),
           torch_fn=lambda torch, a: a.sum(1)),
    OpCase("sum_axes_keepdims", (Sum,), lambda a: a.sum(axis=(0, -1), keepdims=True),
           lambda a: a.sum(axis=(0, -1), keepdims=True), (_u(2, 3, 4),),
           torch_fn=lambda torch, a: a.sum((0, -1), keepdim=True)),
    OpCase("mean_all", (Mean,), lambda a: a.mean(), np.mean, (_u(3, 4),),
           torch_fn=lambda torch, a: a.mean()),
    OpCase("mean_negative_axis", (Mean,), lambda a: a.mean(axis=-2),
           lambda a: a.mean(axis=-2), (_u(2, 3, 4),), torch_fn=lambda torch, a: a.mean(-2)),
    OpCase("mean_axes_keepdims", (Mean,), lambda a: a.mean(axis=(0, 2), keepdims=True),
           lambda a: a.mean(axis=(0, 2), keepdims=True), (_u(2, 3, 4),),
           torch_fn=lambda torch, a: a.mean((0, 2), keepdim=True)),
    OpCase("max_all", (Max,), lambda a: a.max(), np.max, (_u(3, 4),),
           torch_fn=lambda torch, a: a.amax()),
    OpCase("max_axis", (Max,), lambda a: a.max(axis=0), lambda a: a.max(axis=0), (_u(3, 4),),
           torch_fn=lambda torch, a: a.amax(0)),
    OpCase("max_axes_keepdims", (Max,), lambda a: a.max(axis=(0, 2), keepdims=True),
           lambda a: a.max(axis=(0, 2), keepdims=True), (_u(2, 3, 4),),
           torch_fn=lambda torch, a: a.amax((0, 2), keepdim=True)),
    OpCase("min_all", (Min,), lambda a: a.min(), np.min, (_u(3, 4),),
           torch_fn=lambda torch, a: a.amin()),
    OpCase("min_axis_keepdims", (Min,), lambda a: a.min(axis=1, keepdims=True),
           lambda a: a.min(axis=1, keepdims=True), (_u(3, 4),),
           torch_fn=lambda torch, a: a.amin(1, keepdim=True)),
    OpCase("var_axis", (Mean, Sub, Mul, Sum, Div), lambda a: a.var(axis=0),
           lambda a: a.var(axis=0), (_u(5, 3),), torch_fn=lambda torch, a: a.var(0, correction=0)),
]

# ------------------------------------------------------------------ shape
_REPEATS = np.array([0, 2, 0, 1, 2, 2])
_MASK = np.array([[True, False, True], [False, False, True]])
_COND = np.array([[True, False, False], [False, True, True]])

_SHAPE = [
    OpCase("reshape", (Reshape,), lambda a: a.reshape(3, -1), lambda a: a.reshape(3, -1),
           (_u(2, 6),), torch_fn=lambda torch, a: a.reshape(3, -1)),
    OpCase("reshape_tuple_0d", (Reshape,), lambda a: a.reshape((1, 1)),
           lambda a: a.reshape(1, 1), (_u(),), torch_fn=lambda torch, a: a.reshape(1, 1)),
    OpCase("flatten", (Reshape,), lambda a: a.flatten(), lambda a: a.reshape(-1),
           (_u(2, 3, 2),), torch_fn=lambda torch, a: a.flatten()),
    OpCase("flatten_from_axis1", (Reshape,), lambda a: a.flatten(1),
           lambda a: a.reshape(2, -1), (_u(2, 3, 2),), torch_fn=lambda torch, a: a.flatten(1)),
    OpCase("unsqueeze_squeeze", (Reshape, Mul), lambda a: a.unsqueeze(1).squeeze(1) * a,
           lambda a: a * a, (_u(3, 2),), torch_fn=lambda torch, a: a.unsqueeze(1).squeeze(1) * a),
    OpCase("transpose_T", (Transpose,), lambda a: a.T, lambda a: a.T, (_u(3, 4),),
           torch_fn=lambda torch, a: a.T),
    OpCase("transpose_axes", (Transpose,), lambda a: a.transpose(2, 0, 1),
           lambda a: a.transpose(2, 0, 1), (_u(2, 3, 4),),
           torch_fn=lambda torch, a: a.permute(2, 0, 1)),
    OpCase("transpose_tuple_negative", (Transpose,), lambda a: a.transpose((-1, 0, 1)),
           lambda a: a.transpose(2, 0, 1), (_u(2, 3, 4),),
           torch_fn=lambda torch, a: a.permute(2, 0, 1)),
    OpCase("index_int", (Index,), lambda a: a[1], lambda a: a[1], (_u(3, 4),),
           torch_fn=lambda torch, a: a[1]),
    OpCase("index_slices", (Index,), lambda a: a[1:, ::2], lambda a: a[1:, ::2], (_u(3, 5),),
           torch_fn=lambda torch, a: a[1:, ::2]),
    OpCase("index_reversed", (Index,), lambda a: a[::-1], lambda a: a[::-1], (_u(5),),
           torch_fn=lambda torch, a: a.flip(0)),
    OpCase("index_ellipsis_newaxis", (Index,), lambda a: a[..., None, 0],
           lambda a: a[..., None, 0], (_u(2, 3, 4),), torch_fn=lambda torch, a: a[..., None, 0]),
    OpCase("index_repeated_integers", (Index,), lambda a, i: a[i], lambda a, i: a[i],
           (_u(3, 2),), constants=(_REPEATS,),
           torch_fn=lambda torch, a, i: a[_t(torch, i)]),
    OpCase("index_integer_pairs", (Index,), lambda a, i, j: a[i, j], lambda a, i, j: a[i, j],
           (_u(3, 4),), constants=(np.array([0, 2, 0]), np.array([1, 3, 1])),
           torch_fn=lambda torch, a, i, j: a[_t(torch, i), _t(torch, j)]),
    OpCase("index_bool_mask", (Index,), lambda a, m: a[m], lambda a, m: a[m], (_u(2, 3),),
           constants=(_MASK,), torch_fn=lambda torch, a, m: a[_t(torch, m)]),
    OpCase("index_tensor_index", (Index,), lambda a, i: a[cr.tensor(i)], lambda a, i: a[i],
           (_u(4),), constants=(np.array([3, 3, 1]),),
           torch_fn=lambda torch, a, i: a[_t(torch, i)]),
    OpCase("index_adjoint_repeated", (IndexAdjoint,),
           lambda a, i: IndexAdjoint.apply(a, shape=(4, 2), index=i), _scatter_rows,
           (_u(3, 2),), constants=(np.array([3, 0, 3]),),
           torch_fn=lambda torch, a, i: torch.zeros(4, 2, dtype=a.dtype).index_add(
               0, _t(torch, i), a)),
    OpCase("index_adjoint_slices", (IndexAdjoint,),
           lambda a: IndexAdjoint.apply(a, shape=(3, 5),
                                        index=(slice(1, None), slice(None, None, 2))),
           lambda a: np.pad(a, ((1, 0), (0, 0)))[:, [0, 0, 1, 1, 2]] * [1, 0, 1, 0, 1],
           (_u(2, 3),)),
    OpCase("concatenate_axis0", (Concatenate,), lambda a, b: cr.concatenate([a, b]),
           lambda a, b: np.concatenate([a, b]), (_u(2, 3), _u(1, 3)),
           torch_fn=lambda torch, a, b: torch.cat([a, b])),
    OpCase("concatenate_last_axis_three", (Concatenate,),
           lambda a, b, c: cr.concatenate([a, b, c], axis=-1),
           lambda a, b, c: np.concatenate([a, b, c], axis=-1), (_u(2, 3), _u(2, 1), _u(2, 2)),
           torch_fn=lambda torch, a, b, c: torch.cat([a, b, c], -1)),
    OpCase("stack_axis0", (Stack,), lambda a, b: cr.stack([a, b]), lambda a, b: np.stack([a, b]),
           (_u(2, 3), _u(2, 3)), torch_fn=lambda torch, a, b: torch.stack([a, b])),
    OpCase("stack_axis_last_0d", (Stack,), lambda a, b, c: cr.stack([a, b, c], axis=-1),
           lambda a, b, c: np.stack([a, b, c], axis=-1), (_u(), _u(), _u()),
           torch_fn=lambda torch, a, b, c: torch.stack([a, b, c], -1)),
    OpCase("where_broadcast", (Where,), lambda a, b, c: cr.where(c, a, b),
           lambda a, b, c: np.where(c, a, b), (_u(2, 3), _u(3)), constants=(_COND,),
           torch_fn=lambda torch, a, b, c: torch.where(_t(torch, c), a, b)),
    OpCase("where_tensor_condition_scalar", (Where,), lambda a: cr.where(a > 0, a, 0.5),
           lambda a: np.where(a > 0, a, 0.5), (_signed(6),),
           torch_fn=lambda torch, a: torch.where(a > 0, a, 0.5)),
]

# ------------------------------------------------------------------ linear algebra
_LINALG = [
    OpCase("matmul_2d", (MatMul,), lambda a, b: a @ b, np.matmul, (_u(3, 4), _u(4, 2)),
           torch_fn=lambda torch, a, b: a @ b),
    OpCase("matmul_vector_matrix", (MatMul,), lambda a, b: a @ b, np.matmul, (_u(4), _u(4, 2)),
           torch_fn=lambda torch, a, b: a @ b),
    OpCase("matmul_matrix_vector", (MatMul,), lambda a, b: a @ b, np.matmul, (_u(3, 4), _u(4)),
           torch_fn=lambda torch, a, b: a @ b),
    OpCase("matmul_dot_0d", (MatMul,), lambda a, b: a @ b, np.matmul, (_u(4), _u(4)),
           torch_fn=lambda torch, a, b: a @ b),
    OpCase("matmul_batch_broadcast", (MatMul,), lambda a, b: a @ b, np.matmul,
           (_u(2, 1, 3, 4), _u(3, 4, 2)), torch_fn=lambda torch, a, b: a @ b),
    OpCase("matmul_batch_vector", (MatMul,), lambda a, b: a @ b, np.matmul,
           (_u(2, 3, 4), _u(4)), torch_fn=lambda torch, a, b: a @ b),
    OpCase("rmatmul_constant", (MatMul,), lambda b, m: m @ b, lambda b, m: m @ b, (_u(3, 2),),
           constants=([[1.0, 2.0, 0.5]],), torch_fn=lambda torch, b, m: _t(torch, m, b) @ b),
    OpCase("linear_bias", (Linear,), F.linear, lambda x, w, b: x @ w.T + b,
           (_u(4, 3), _u(5, 3), _u(5)), torch_fn=lambda torch, x, w, b: x @ w.T + b),
    OpCase("linear_no_bias_3d", (Linear,), F.linear, lambda x, w: x @ w.T,
           (_u(2, 4, 3), _u(5, 3)), torch_fn=lambda torch, x, w: x @ w.T),
]

# ------------------------------------------------------------------ losses
_LABELS = np.array([0, 2, 1, 2])
_LABELS_IGNORED = np.array([0, -100, 1, 2])
_LABELS_SPATIAL = np.array([[0, 2, 1], [1, 1, 0]])
_PROBS = _softmax(_u(4, 3), 1)
_TARGETS = (_u(3, 4) > 0).astype(np.float64)


def _torch_loss(name, **kwargs):
    """``torch.nn.functional.<name>(x, y, **kwargs)`` with NumPy constants converted."""
    def call(torch, x, y):
        options = {k: _t(torch, v, x) if isinstance(v, np.ndarray) else v
                   for k, v in kwargs.items()}
        return getattr(torch.nn.functional, name)(x, _t(torch, y, x), **options)

    return call


_CE, _BCE = "cross_entropy", "binary_cross_entropy_with_logits"
_WEIGHT = _pos(3)
_POS_WEIGHT = _pos(4) * 2

_LOSSES = [
    OpCase("cross_entropy", (CrossEntropy,), F.cross_entropy, _cross_entropy, (_u(4, 3) * 3,),
           constants=(_LABELS,), torch_fn=_torch_loss(_CE)),
    OpCase("cross_entropy_large_logits", (CrossEntropy,), F.cross_entropy, _cross_entropy,
           (_u(4, 3) * 500,), constants=(_LABELS,), torch_fn=_torch_loss(_CE)),
    OpCase("cross_entropy_sum", (CrossEntropy,),
           lambda x, y: F.cross_entropy(x, y, reduction="sum"),
           lambda x, y: _cross_entropy(x, y) * len(y), (_u(4, 3),), constants=(_LABELS,),
           torch_fn=_torch_loss(_CE, reduction="sum")),
    OpCase("cross_entropy_none", (CrossEntropy,),
           lambda x, y: F.cross_entropy(x, y, reduction="none"),
           lambda x, y: -_log_softmax(x, 1)[np.arange(len(y)), y], (_u(4, 3),),
           constants=(_LABELS,), torch_fn=_torch_loss(_CE, reduction="none")),
    OpCase("cross_entropy_weight", (CrossEntropy,),
           lambda x, y: F.cross_entropy(x, y, weight=_WEIGHT),
           lambda x, y: _cross_entropy(x, y, weight=_WEIGHT), (_u(4, 3),), constants=(_LABELS,),
           torch_fn=_torch_loss(_CE, weight=_WEIGHT)),
    OpCase("cross_entropy_label_smoothing", (CrossEntropy,),
           lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1),
           lambda x, y: _cross_entropy(x, y, smoothing=0.1), (_u(4, 3),), constants=(_LABELS,),
           torch_fn=_torch_loss(_CE, label_smoothing=0.1)),
    OpCase("cross_entropy_ignore_index", (CrossEntropy,), F.cross_entropy, _cross_entropy,
           (_u(4, 3),), constants=(_LABELS_IGNORED,), torch_fn=_torch_loss(_CE)),
    OpCase("cross_entropy_spatial", (CrossEntropy,), F.cross_entropy, _cross_entropy,
           (_u(2, 3, 3),), constants=(_LABELS_SPATIAL,), torch_fn=_torch_loss(_CE)),
    OpCase("cross_entropy_probabilities", (CrossEntropy,), F.cross_entropy,
           lambda x, q: -(q * _log_softmax(x, 1)).sum(axis=1).mean(), (_u(4, 3),),
           constants=(_PROBS,), torch_fn=_torch_loss(_CE)),
    OpCase("bce_with_logits", (BCEWithLogits,), F.binary_cross_entropy_with_logits, _bce,
           (_u(3, 4) * 3,), constants=(_TARGETS,), torch_fn=_torch_loss(_BCE)),
    OpCase("bce_with_logits_saturated", (BCEWithLogits,), F.binary_cross_entropy_with_logits,
           _bce, (_a(-80.0, -40.0, 40.0, 80.0),), constants=(_a(1.0, 0.0, 1.0, 0.0),),
           torch_fn=_torch_loss(_BCE)),
    OpCase("bce_with_logits_pos_weight", (BCEWithLogits,),
           lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=_POS_WEIGHT),
           lambda x, y: _bce(x, y, pos_weight=_POS_WEIGHT), (_u(3, 4),), constants=(_TARGETS,),
           torch_fn=_torch_loss(_BCE, pos_weight=_POS_WEIGHT)),
    OpCase("bce_with_logits_weight_sum", (BCEWithLogits,),
           lambda x, y: F.binary_cross_entropy_with_logits(x, y, weight=_TARGETS[0] + 0.5,
                                                           reduction="sum"),
           lambda x, y: _bce(x, y, weight=_TARGETS[0] + 0.5, reduction="sum"), (_u(3, 4),),
           constants=(_TARGETS,),
           torch_fn=_torch_loss(_BCE, weight=_TARGETS[0] + 0.5, reduction="sum")),
    OpCase("bce_with_logits_none", (BCEWithLogits,),
           lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"),
           lambda x, y: _bce(x, y, reduction="none"), (_u(3, 4),), constants=(_TARGETS,),
           torch_fn=_torch_loss(_BCE, reduction="none")),
    OpCase("mse", (MSE,), F.mse_loss, lambda p, y: ((p - y) ** 2).mean(), (_u(4, 2),),
           constants=(_u(4, 2),), torch_fn=lambda torch, p, y: ((p - _t(torch, y, p)) ** 2).mean()),
    OpCase("mse_both_differentiable", (MSE,), F.mse_loss, lambda p, y: ((p - y) ** 2).mean(),
           (_u(3, 2), _u(3, 2)), torch_fn=lambda torch, p, y: torch.nn.functional.mse_loss(p, y)),
    OpCase("mse_sum_half", (MSE,), lambda p, y: F.mse_loss(p, y, reduction="sum", scale=0.5),
           lambda p, y: 0.5 * ((p - y) ** 2).sum(), (_u(5), _u(5)),
           torch_fn=lambda torch, p, y: 0.5 * ((p - y) ** 2).sum()),
    OpCase("mse_none", (MSE,), lambda p, y: F.mse_loss(p, y, reduction="none"),
           lambda p, y: (p - y) ** 2, (_u(2, 3), _u(2, 3)),
           torch_fn=lambda torch, p, y: torch.nn.functional.mse_loss(p, y, reduction="none")),
]

# ------------------------------------------------------------------ kinks
# Inputs sit exactly on each op's kink; kink_grads is the documented gradient of out.sum()
# (the # NOTE in the op's docstring), which is also PyTorch's convention.
_TIES = _a(1.0, 3.0, 3.0, 2.0, 2.0, 0.0).reshape(2, 3)

_KINKS = [
    OpCase("kink_relu_at_0", (ReLU,), lambda a: a.relu(), lambda a: np.maximum(a, 0),
           (_a(-1.0, 0.0, 0.5, 0.0),), kink_grads=(_a(0, 0, 1, 0),),
           torch_fn=lambda torch, a: a.relu()),
    OpCase("kink_leaky_relu_at_0", (LeakyReLU,), lambda a: F.leaky_relu(a, 0.25),
           lambda a: np.where(a > 0, a, 0.25 * a), (_a(-1.0, 0.0, 2.0),),
           kink_grads=(_a(0.25, 0.25, 1),),
           torch_fn=lambda torch, a: torch.nn.functional.leaky_relu(a, 0.25)),
    OpCase("kink_elu_at_0", (ELU,), lambda a: F.elu(a, 1.5),
           lambda a: np.where(a > 0, a, 1.5 * np.expm1(a)), (_a(-1.0, 0.0, 2.0),),
           kink_grads=(_a(1.5 * math.exp(-1), 1.5, 1),),
           torch_fn=lambda torch, a: torch.nn.functional.elu(a, 1.5)),
    OpCase("kink_abs_at_0", (Abs,), lambda a: a.abs(), np.abs, (_a(-2.0, 0.0, 3.0),),
           kink_grads=(_a(-1, 0, 1),), torch_fn=lambda torch, a: a.abs()),
    OpCase("kink_clip_at_bounds", (Clip,), lambda a: a.clip(-1.0, 1.0),
           lambda a: np.clip(a, -1, 1), (_a(-2.0, -1.0, 0.0, 1.0, 2.0),),
           kink_grads=(_a(0, 1, 1, 1, 0),), torch_fn=lambda torch, a: a.clamp(-1.0, 1.0)),
    OpCase("kink_max_all_ties", (Max,), lambda a: a.max(), np.max, (_TIES,),
           kink_grads=(_a(0, 0.5, 0.5, 0, 0, 0).reshape(2, 3),),
           torch_fn=lambda torch, a: a.amax()),
    OpCase("kink_max_axis_ties", (Max,), lambda a: a.max(axis=1), lambda a: a.max(axis=1),
           (_TIES,), kink_grads=(_a(0, 0.5, 0.5, 0.5, 0.5, 0).reshape(2, 3),),
           torch_fn=lambda torch, a: a.amax(1)),
    OpCase("kink_min_axis_ties", (Min,), lambda a: a.min(axis=0), lambda a: a.min(axis=0),
           (_a(1.0, 2.0, 0.0, 1.0, 3.0, 0.0).reshape(2, 3),),
           kink_grads=(_a(0.5, 1, 0.5, 0.5, 0, 0.5).reshape(2, 3),),
           torch_fn=lambda torch, a: a.amin(0)),
    OpCase("kink_maximum_ties", (Maximum,), cr.maximum, np.maximum,
           (_a(1.0, 2.0, 3.0), _a(1.0, 0.0, 3.0)),
           kink_grads=(_a(0.5, 1, 0.5), _a(0.5, 0, 0.5)),
           torch_fn=lambda torch, a, b: torch.maximum(a, b)),
    OpCase("kink_minimum_ties_broadcast", (Minimum,), cr.minimum, np.minimum,
           (_a(1.0, 2.0, 0.0, 5.0).reshape(2, 2), _a(1.0, 2.0)),
           kink_grads=(_a(0.5, 0.5, 1, 0).reshape(2, 2), _a(0.5, 1.5)),
           torch_fn=lambda torch, a, b: torch.minimum(a, b)),
    OpCase("kink_pow_zero_base", (Pow,), lambda a, b: a**b, np.power,
           (_a(0.0, 2.0), _a(2.0, 3.0)), kink_grads=(_a(0, 12), _a(0, 8 * math.log(2))),
           torch_fn=lambda torch, a, b: a**b),
]

CASES = _ELEMENTWISE + _ACTIVATIONS + _REDUCTIONS + _SHAPE + _LINALG + _LOSSES + _KINKS
