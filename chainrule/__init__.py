"""chainrule: backpropagation over NumPy that is fast, correct and visible."""

from . import audio, data, datasets, distributed, models, nn, optim, text
from .data import DataLoader
from .explain import explain
from .gradcheck import GradcheckError, gradcheck
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
from .ops import concatenate, maximum, minimum, stack, where
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import Tensor, enable_grad, from_dlpack, is_grad_enabled, no_grad, tensor
from .train import callbacks, evaluate, fit, metrics, predict

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "from_dlpack", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
    "GradcheckError", "concatenate", "stack", "where", "maximum", "minimum", "nn",
    "manual_seed", "get_rng_state", "set_rng_state",
    "save", "load_model", "load_metadata", "save_state", "load_state", "LoadError",
    "save_checkpoint", "load_checkpoint", "load_torch_state",
    "fit", "evaluate", "predict", "callbacks", "metrics",
    "data", "datasets", "DataLoader", "optim", "explain", "models", "text",
    "audio", "distributed",
]


def __getattr__(name: str):
    # The interoperability packages load on first use (cr.onnx, cr.sklearn), so importing
    # chainrule needs neither onnx nor scikit-learn.
    if name in ("onnx", "sklearn"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
