"""Op cases for the element-wise math of issue 13 (trig, hyperbolic, logs and exponentials,
rounding, the self-gated activations) and the new reductions and scans."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.ops.activation import ELU
from chainrule.ops.elementwise import Abs, Add, Div, Mul, Sqrt, Sub
from chainrule.ops.exponential import (
    Exp2,
    Expm1,
    Log1p,
    Log2,
    Log10,
    LogAddExp,
    LogSumExp,
    Rsqrt,
)
from chainrule.ops.gated import Hardswish, Mish, SiLU
from chainrule.ops.rounding import Ceil, Floor, Round, Sign, Trunc
from chainrule.ops.scan import CumProd, CumSum, Prod
from chainrule.ops.trig import (
    Arccos,
    Arccosh,
    Arcsin,
    Arcsinh,
    Arctan,
    Arctanh,
    Cos,
    Cosh,
    Sin,
    Sinh,
    Tan,
)

from . import OpCase, draws

__all__ = ["CASES"]

_u = draws(50_000)


def _a(*values):
    return np.array(values, dtype=np.float64)


def _unary(name, op, ref, x, torch_name=None):
    """A case calling method ``name`` and the ``cr.`` function of that name on one input."""
    torch_name = torch_name or name
    return [
        OpCase(name, (op,), lambda a: getattr(a, name)(), ref, (x,),
               torch_fn=lambda torch, a: getattr(torch, torch_name)(a)),
        OpCase(f"{name}_function_0d", (op,), lambda a: getattr(cr, name)(a), ref,
               (x.reshape(-1)[0],), torch_fn=lambda torch, a: getattr(torch, torch_name)(a)),
    ]


_UNARY = [
    *_unary("sin", Sin, np.sin, _u(3, 4, low=-4, high=4)),
    *_unary("cos", Cos, np.cos, _u(3, 4, low=-4, high=4)),
    *_unary("tan", Tan, np.tan, _u(3, 4, low=-1.2, high=1.2)),
    *_unary("arcsin", Arcsin, np.arcsin, _u(3, 4, low=-0.9, high=0.9)),
    *_unary("arccos", Arccos, np.arccos, _u(3, 4, low=-0.9, high=0.9)),
    *_unary("arctan", Arctan, np.arctan, _u(3, 4, low=-3, high=3)),
    *_unary("sinh", Sinh, np.sinh, _u(3, 4)),
    *_unary("cosh", Cosh, np.cosh, _u(3, 4)),
    *_unary("arcsinh", Arcsinh, np.arcsinh, _u(3, 4, low=-3, high=3)),
    *_unary("arccosh", Arccosh, np.arccosh, _u(3, 4, low=1.2, high=3)),
    *_unary("arctanh", Arctanh, np.arctanh, _u(3, 4, low=-0.9, high=0.9)),
    *_unary("log2", Log2, np.log2, _u(3, 4, low=0.2, high=3)),
    *_unary("log10", Log10, np.log10, _u(3, 4, low=0.2, high=3)),
    *_unary("log1p", Log1p, np.log1p, _u(3, 4, low=-0.8, high=3)),
    *_unary("expm1", Expm1, np.expm1, _u(3, 4)),
    *_unary("exp2", Exp2, np.exp2, _u(3, 4)),
    *_unary("rsqrt", Rsqrt, lambda a: 1 / np.sqrt(a), _u(3, 4, low=0.2, high=3)),
    OpCase("asin_alias", (Arcsin,), lambda a: a.asin(), np.arcsin, (_u(5, low=-0.9, high=0.9),),
           torch_fn=lambda torch, a: a.asin()),
    OpCase("acosh_function_alias", (Arccosh,), lambda a: cr.acosh(a), np.arccosh,
           (_u(5, low=1.2, high=3),), torch_fn=lambda torch, a: a.acosh()),
    OpCase("atanh_alias", (Arctanh,), lambda a: a.atanh(), np.arctanh,
           (_u(5, low=-0.9, high=0.9),), torch_fn=lambda torch, a: a.atanh()),
    # Away from the jumps the gradient is 0 (a check that can fail: a rule passing the
    # gradient through would give 1).
    OpCase("sign", (Sign,), lambda a: a.sign() * a, lambda a: np.sign(a) * a,
           (_a(-1.5, -0.3, 0.4, 2.0),), torch_fn=lambda torch, a: a.sign() * a),
    OpCase("floor", (Floor,), lambda a: a.floor() + a, lambda a: np.floor(a) + a,
           (_u(3, 4, low=-3, high=3),), torch_fn=lambda torch, a: a.floor() + a),
    OpCase("ceil", (Ceil,), lambda a: a.ceil() * a, lambda a: np.ceil(a) * a,
           (_u(3, 4, low=-3, high=3),), torch_fn=lambda torch, a: a.ceil() * a),
    OpCase("trunc", (Trunc,), lambda a: cr.trunc(a) * 2, lambda a: np.trunc(a) * 2,
           (_u(3, 4, low=-3, high=3),), torch_fn=lambda torch, a: a.trunc() * 2),
    OpCase("round_decimals", (Round,), lambda a: a.round(1) + a, lambda a: np.round(a, 1) + a,
           (_a(0.123, -1.26, 2.0, 0.81),), torch_fn=lambda torch, a: a.round(decimals=1) + a),
    OpCase("kink_round_at_half", (Round,), lambda a: a.round(), np.round,
           (_a(0.5, 1.5, -2.5, 1.0),), kink_grads=(_a(0, 0, 0, 0),),
           torch_fn=lambda torch, a: a.round()),
    OpCase("kink_sign_at_0", (Sign,), lambda a: a.sign(), np.sign, (_a(0.0, -1.0, 2.0),),
           kink_grads=(_a(0, 0, 0),), torch_fn=lambda torch, a: a.sign()),
]

_BINARY = [
    OpCase("logaddexp_broadcast", (LogAddExp,), lambda a, b: a.logaddexp(b), np.logaddexp,
           (_u(3, 4, low=-30, high=30), _u(4)), torch_fn=lambda torch, a, b: torch.logaddexp(a, b)),
    OpCase("logaddexp_function_constant", (LogAddExp,), lambda a: cr.logaddexp(a, 0.5),
           lambda a: np.logaddexp(a, 0.5), (_u(2, 3),),
           torch_fn=lambda torch, a: torch.logaddexp(a, torch.tensor(0.5, dtype=a.dtype))),
    OpCase("lerp_broadcast", (Add, Sub, Mul), lambda a, b, w: a.lerp(b, w),
           lambda a, b, w: a + w * (b - a), (_u(3, 4), _u(4), _u(3, 1, low=0, high=1)),
           torch_fn=lambda torch, a, b, w: torch.lerp(a, b.expand(3, 4), w.expand(3, 4))),
]

_REDUCTIONS = [
    OpCase("std_all", (Sqrt, Mul, Sub), lambda a: a.std(), np.std, (_u(3, 4),),
           torch_fn=lambda torch, a: a.std(correction=0)),
    OpCase("std_axis_ddof1_keepdims", (Sqrt,), lambda a: cr.std(a, axis=1, keepdims=True, ddof=1),
           lambda a: a.std(axis=1, keepdims=True, ddof=1), (_u(3, 5),),
           torch_fn=lambda torch, a: a.std(1, keepdim=True)),
    OpCase("prod_axis", (Prod,), lambda a: a.prod(axis=1), lambda a: a.prod(axis=1),
           (_u(3, 4),), torch_fn=lambda torch, a: a.prod(1)),
    OpCase("prod_all_keepdims", (Prod,), lambda a: a.prod(keepdims=True),
           lambda a: a.prod(keepdims=True), (_u(2, 3, low=0.5, high=1.5),),
           torch_fn=lambda torch, a: a.prod().reshape(1, 1)),
    # Products are polynomials: smooth at zeros, where y / x would divide by 0.
    OpCase("prod_with_zeros", (Prod,), lambda a: a.prod(axis=0), lambda a: a.prod(axis=0),
           (_a(0.0, 2.0, 0.0, 1.5, 3.0, 0.0, -1.0, 0.5, 0.7).reshape(3, 3),),
           torch_fn=lambda torch, a: a.prod(0)),
    OpCase("logsumexp_axis", (LogSumExp,), lambda a: a.logsumexp(axis=1),
           lambda a: np.log(np.exp(a).sum(axis=1)), (_u(3, 4),),
           torch_fn=lambda torch, a: a.logsumexp(1)),
    OpCase("logsumexp_large_keepdims", (LogSumExp,),
           lambda a: cr.logsumexp(a, axis=(0, 2), keepdims=True),
           lambda a: np.log(np.exp(a - 500).sum(axis=(0, 2), keepdims=True)) + 500,
           (_u(2, 3, 2, low=498, high=502),),
           torch_fn=lambda torch, a: a.logsumexp((0, 2), keepdim=True)),
    OpCase("logsumexp_all", (LogSumExp,), lambda a: a.logsumexp(),
           lambda a: np.log(np.exp(a).sum()), (_u(4, 2),),
           torch_fn=lambda torch, a: a.logsumexp((0, 1))),
    OpCase("cumsum_axis", (CumSum,), lambda a: a.cumsum(axis=1), lambda a: a.cumsum(axis=1),
           (_u(3, 4),), torch_fn=lambda torch, a: a.cumsum(1)),
    OpCase("cumsum_flat", (CumSum,), lambda a: cr.cumsum(a), np.cumsum, (_u(2, 3),),
           torch_fn=lambda torch, a: a.reshape(-1).cumsum(0)),
    OpCase("cumprod_negative_axis", (CumProd,), lambda a: a.cumprod(axis=-2),
           lambda a: a.cumprod(axis=-2), (_u(4, 3),), torch_fn=lambda torch, a: a.cumprod(-2)),
    OpCase("cumprod_with_zeros", (CumProd,), lambda a: a.cumprod(axis=1),
           lambda a: a.cumprod(axis=1),
           (_a(1.5, 0.0, 2.0, -1.0, 0.8, 1.2, 0.0, 0.0, 0.0, 3.0, 0.5, 2.0).reshape(3, 4),),
           torch_fn=lambda torch, a: a.cumprod(1)),
]

_ACTIVATIONS = [
    OpCase("silu", (SiLU,), F.silu, lambda a: a / (1 + np.exp(-a)), (_u(3, 4, low=-6, high=6),),
           torch_fn=lambda torch, a: torch.nn.functional.silu(a)),
    OpCase("mish", (Mish,), F.mish, lambda a: a * np.tanh(np.logaddexp(0, a)),
           (_u(3, 4, low=-6, high=6),), torch_fn=lambda torch, a: torch.nn.functional.mish(a)),
    OpCase("hardswish", (Hardswish,), F.hardswish,
           lambda a: a * np.clip(a + 3, 0, 6) / 6, (_u(3, 4, low=-5, high=5) + 0.01,),
           torch_fn=lambda torch, a: torch.nn.functional.hardswish(a)),
    OpCase("kink_hardswish_at_ends", (Hardswish,), F.hardswish,
           lambda a: a * np.clip(a + 3, 0, 6) / 6, (_a(-4.0, -3.0, 0.0, 3.0, 4.0),),
           kink_grads=(_a(0, 0, 0.5, 1, 1),),
           torch_fn=lambda torch, a: torch.nn.functional.hardswish(a)),
    OpCase("softsign", (Abs, Add, Div), F.softsign, lambda a: a / (1 + np.abs(a)),
           (_u(3, 4) + 0.01,), torch_fn=lambda torch, a: torch.nn.functional.softsign(a)),
    OpCase("celu", (ELU,), lambda a: F.celu(a, 0.7),
           lambda a: np.where(a > 0, a, 0.7 * np.expm1(a / 0.7)), (_u(3, 4) + 0.01,),
           torch_fn=lambda torch, a: torch.nn.functional.celu(a, 0.7),
           # PyTorch's celu gradient is off by ~2e-9 in float64 (1/α rounded to float32);
           # the central-difference check holds ours to float64's precision.
           tolerance={"float64": (1e-7, 1e-9)}),
    OpCase("selu", (ELU,), F.selu,
           lambda a: 1.0507009873554805 * np.where(a > 0, a, 1.6732632423543772 * np.expm1(a)),
           (_u(3, 4) + 0.01,), torch_fn=lambda torch, a: torch.nn.functional.selu(a)),
]

CASES = [*_UNARY, *_BINARY, *_REDUCTIONS, *_ACTIVATIONS]
