"""chainrule: backpropagation over NumPy that is fast, correct and visible."""

from . import data, datasets, nn
from .data import DataLoader
from .gradcheck import GradcheckError, gradcheck
from .ops import concatenate, maximum, minimum, stack, where
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad, tensor
from .train import callbacks, evaluate, fit, metrics, predict

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
    "GradcheckError", "concatenate", "stack", "where", "maximum", "minimum", "nn",
    "manual_seed", "get_rng_state", "set_rng_state",
    "fit", "evaluate", "predict", "callbacks", "metrics",
    "data", "datasets", "DataLoader",
]
