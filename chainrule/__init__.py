"""chainrule: backpropagation over NumPy that is fast, correct and visible."""

from . import autograd, cuda, data, distributed, models, nn, optim
from .autograd import enable_grad, functional, is_grad_enabled, no_grad, tensor_math  # noqa: F401
from .backend import Device as device
from .backend.threads import get_num_threads, set_num_threads
from .compile import compile
from .data import DataLoader
from .explain import explain
from .functions import (
    abs,
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctanh,
    argmax,
    argmin,
    asin,
    asinh,
    atan,
    atanh,
    broadcast_to,
    ceil,
    clip,
    cos,
    cosh,
    cumprod,
    cumsum,
    exp,
    exp2,
    expm1,
    flatten,
    flip,
    floor,
    gather,
    lerp,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logsumexp,
    max,
    mean,
    min,
    pad,
    prod,
    repeat,
    repeat_interleave,
    reshape,
    round,
    rsqrt,
    scatter,
    scatter_add,
    sign,
    sin,
    sinh,
    sqrt,
    std,
    sum,
    take_along_axis,
    tan,
    tanh,
    tile,
    tril,
    triu,
    trunc,
    unflatten,
    var,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .io import (
    LoadError,
    load_checkpoint,
    load_metadata,
    load_model,
    load_state,
    load_torch_state,
    save,
    save_checkpoint,
    save_state,
)
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import (
    Tensor,
    concatenate,
    einsum,
    from_dlpack,
    maximum,
    minimum,
    one_hot,
    stack,
    tensor,
    where,
)
from .train import callbacks, evaluate, fit, metrics, predict

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "from_dlpack", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
    "gradgradcheck", "GradcheckError", "concatenate", "stack", "where", "maximum", "minimum", "nn",
    "manual_seed", "get_rng_state", "set_rng_state",
    "save", "load_model", "load_metadata", "save_state", "load_state", "LoadError",
    "save_checkpoint", "load_checkpoint", "load_torch_state",
    "compile", "fit", "evaluate", "predict", "callbacks", "metrics",
    "data", "datasets", "DataLoader", "optim", "explain", "models", "text",
    "audio", "distributed", "autograd", "cuda", "device", "set_num_threads", "get_num_threads",
    "einsum", "one_hot",
]
__all__ += [  # cr.sin, cr.cumsum, …: the Tensor methods as functions (chainrule.functions)
    "sin", "cos", "tan", "arcsin", "asin", "arccos", "acos", "arctan", "atan", "sinh", "cosh",
    "tanh", "arcsinh", "asinh", "arccosh", "acosh", "arctanh", "atanh", "exp", "log", "sqrt",
    "abs", "log2", "log10", "log1p", "expm1", "exp2", "rsqrt", "sign", "floor", "ceil",
    "round", "trunc", "clip", "logaddexp", "lerp", "sum", "mean", "var", "std", "prod",
    "logsumexp", "cumsum", "cumprod", "argmax", "argmin", "max", "min", "reshape", "flatten",
    "unflatten", "pad", "flip", "broadcast_to", "tile", "repeat", "repeat_interleave",
    "take_along_axis", "gather", "scatter", "scatter_add", "tril", "triu", "logical_not",
    "logical_and", "logical_or", "logical_xor",
]


# Subpackages loaded on first use (``cr.datasets``, ``cr.text``, …), so ``import chainrule`` stays
# quick and needs neither onnx nor scikit-learn. (The speech model's front end, a layer that
# ``load_model`` must know, comes with ``models``.)
_LAZY = ("audio", "datasets", "text", "onnx", "sklearn")


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
