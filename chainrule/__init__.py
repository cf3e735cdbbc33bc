"""chainrule: backpropagation over NumPy that is fast, correct and visible."""

from . import audio, autograd, data, datasets, models, nn, optim, text
from . import explain as explain
from .autograd import enable_grad, is_grad_enabled, no_grad
from .data import DataLoader
from .gradcheck import GradcheckError, gradcheck
from .io import LoadError, load_metadata, load_model, load_state, save, save_state
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import Tensor, concatenate, maximum, minimum, stack, tensor, where
from .train import callbacks, evaluate, fit, metrics, predict
from .train.checkpoint import load_checkpoint, save_checkpoint

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
    "GradcheckError", "concatenate", "stack", "where", "maximum", "minimum", "nn",
    "manual_seed", "get_rng_state", "set_rng_state",
    "save", "load_model", "load_metadata", "save_state", "load_state", "LoadError",
    "save_checkpoint", "load_checkpoint",
    "fit", "evaluate", "predict", "callbacks", "metrics",
    "data", "datasets", "DataLoader", "optim", "explain", "models", "text",
    "audio", "autograd",
]
