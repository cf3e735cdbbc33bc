"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's multilayer perceptrons, with their
arguments and defaults, trained by chainrule."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning

from .. import models, nn, optim
from ..train.callbacks import EarlyStopping
from .base import _Classification, _Estimator, _Regression

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's activation names -> chainrule's
_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


class _MLP(_Estimator):
    """scikit-learn's ``BaseMultilayerPerceptron`` parameters, mapped onto chainrule."""

    def __init__(self, hidden_layer_sizes=(100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size="auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state=None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 loss=None):
        self.hidden_layer_sizes, self.activation = hidden_layer_sizes, activation
        self.solver, self.alpha, self.batch_size = solver, alpha, batch_size
        self.learning_rate, self.learning_rate_init = learning_rate, learning_rate_init
        self.power_t, self.max_iter, self.shuffle = power_t, max_iter, shuffle
        self.random_state, self.tol, self.verbose = random_state, tol, verbose
        self.warm_start, self.momentum = warm_start, momentum
        self.nesterovs_momentum, self.early_stopping = nesterovs_momentum, early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.n_iter_no_change, self.max_fun, self.loss = n_iter_no_change, max_fun, loss

    def _check_parameters(self) -> None:
        name = type(self).__name__
        if self.solver not in ("adam", "sgd"):
            raise ValueError(f"{name}: solver must be 'adam' or 'sgd' (chainrule trains by "
                             f"mini-batches; 'lbfgs' is not available), got {self.solver!r}")
        if self.learning_rate != "constant":
            raise ValueError(f"{name}: learning_rate must be 'constant' (the 'invscaling' and "
                             f"'adaptive' schedules are not available), got "
                             f"{self.learning_rate!r}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"{name}: activation must be one of {sorted(_ACTIVATIONS)}, got "
                             f"{self.activation!r}")
        if self.loss not in (None, *self._loss_names):
            raise ValueError(f"{name}: loss must be {self._loss_names[0]!r}, got "
                             f"{self.loss!r}")
        if self.early_stopping and not 0 < self.validation_fraction < 1:
            raise ValueError(f"{name}: validation_fraction must be in (0, 1) with "
                             f"early_stopping, got {self.validation_fraction}")

    def _build_module(self, n_features: int, n_outputs: int):
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
        if any(not isinstance(s, Integral) or s < 1 for s in sizes):
            raise ValueError(f"{type(self).__name__}: hidden_layer_sizes must be positive "
                             f"integers, got {self.hidden_layer_sizes!r}")
        return models.mlp((n_features,), n_outputs, layers=sizes,
                          activation=_ACTIVATIONS[self.activation])

    def _build_optimizer(self, module, settings: dict):
        weights = [p for name, p in module.named_parameters() if name.endswith("weight")]
        biases = [p for name, p in module.named_parameters() if not name.endswith("weight")]
        groups = [{"params": weights, "weight_decay": settings["weight_decay"]},
                  {"params": biases, "weight_decay": 0.0}]
        if self.solver == "sgd":
            return optim.SGD(groups, lr=self.learning_rate_init, momentum=self.momentum,
                             nesterov=self.nesterovs_momentum and self.momentum > 0)
        return optim.Adam(groups, lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                          eps=self.epsilon)

    def _training(self, n_samples: int, counted: float) -> dict:
        self._check_parameters()
        batch_size = min(200, n_samples) if self.batch_size == "auto" else self.batch_size
        batch_size = min(batch_size, n_samples)
        # Stop after n_iter_no_change + 1 epochs without an improvement of tol, as scikit-learn
        # counts: in the validation loss with early_stopping (scikit-learn watches the
        # validation score), else in the training loss.
        monitor = "val_loss" if self.early_stopping else "loss"
        stop = EarlyStopping(monitor=monitor, patience=self.n_iter_no_change + 1,
                             min_delta=self.tol, restore_best_weights=self.early_stopping)
        # scikit-learn's penalty ½α‖W‖² / (weight of the batch), on the weights only: weight
        # decay in a parameter group of its own (a batch of B samples weighs B · counted / N).
        decay = self.alpha / (batch_size * counted / n_samples)
        return {"epochs": self.max_iter, "batch_size": batch_size, "weight_decay": decay,
                "shuffle": self.shuffle, "callbacks": [stop],
                "validation_fraction": self.validation_fraction if self.early_stopping else 0}

    def fit(self, X, y, sample_weight=None):
        """Train for up to ``max_iter`` epochs (continue with ``warm_start``); returns self.

        **Shape**: X ``(N, F)``; y ``(N,)`` (or ``(N, T)`` for regression); sample_weight
        ``(N,)``."""
        self._fit(X, y, sample_weight, partial=False)
        if len(self.history_.epoch) == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=2)
        return self

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, scikit-learn's layout: ``coefs_[i]`` is ``(fan_in, fan_out)``."""
        return [layer.weight.data.T for layer in self._linears()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, ``intercepts_[i]`` of ``(fan_out,)``."""
        return [layer.bias.data for layer in self._linears()]

    @property
    def n_layers_(self) -> int:
        """Layers counting the input and the output, as scikit-learn does."""
        return len(self._linears()) + 1

    @property
    def best_loss_(self) -> float | None:
        """The lowest training loss (None with early stopping, as in scikit-learn)."""
        return None if self.early_stopping else min(self.loss_curve_)

    def _linears(self) -> list:
        return [m for m in self.module_.modules() if isinstance(m, nn.Linear)]


_DOC = """scikit-learn's ``{name}``, trained by chainrule: the same arguments and defaults, so
    it drops into code written for scikit-learn's.

    A ``cr.models.mlp`` of ``hidden_layer_sizes`` with ``activation`` between layers ({output})
    trained by ``cr.fit`` on mini-batches of ``batch_size`` (``"auto"``: min(200, N)) for up to
    ``max_iter`` epochs with Adam (``learning_rate_init``, ``beta_1``, ``beta_2``, ``epsilon``)
    or SGD (``momentum``, ``nesterovs_momentum``), an L2 penalty ``½ alpha ‖W‖² / batch`` on the
    weights, and scikit-learn's stopping rule: ``n_iter_no_change`` epochs without an
    improvement of ``tol`` in the training loss, or, with ``early_stopping``, in the loss on a
    held-out ``validation_fraction`` (scikit-learn watches the validation score there), whose
    best weights are kept. Inputs are trained in float32.

    Differences: ``solver="lbfgs"`` and the ``"invscaling"``/``"adaptive"`` learning rates are
    not available (``fit`` says so); ``power_t`` and ``max_fun`` are accepted for those and
    unused. {differences}

    Pickling a fitted estimator is supported, as scikit-learn tools expect (it is the one place
    chainrule uses pickle: its own model files are safetensors); unpickle only trusted files.

    Attributes:
        module_, optimizer_, history_: the trained ``cr.nn.Sequential``, its optimizer and the
        last ``cr.fit``'s ``History``; loss_, loss_curve_, best_loss_, n_iter_, coefs_,
        intercepts_, n_layers_, n_features_in_{attributes} as in scikit-learn.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> from chainrule.sklearn import {name}
        >>> X, y = load_iris(return_X_y=True)
        >>> model = {name}(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
        >>> model.fit(X, {target}).predict(X[:2]).shape
        (2,)
"""


class MLPClassifier(ClassifierMixin, _Classification, _MLP):
    __doc__ = _DOC.format(
        name="MLPClassifier", output="one logit per class, a softmax for ``predict_proba``",
        differences="Two classes get two logits (scikit-learn: one logistic output); "
                    "``loss`` may only be ``'log_loss'``.",
        attributes=", classes_", target="y")
    _loss_names = ("log_loss",)

    def _build_loss(self, reduction: str):
        return nn.CrossEntropyLoss(reduction=reduction)


class MLPRegressor(RegressorMixin, _Regression, _MLP):
    __doc__ = _DOC.format(
        name="MLPRegressor", output="one linear output per target",
        differences="``loss`` is keyword-only and may only be ``'squared_error'`` "
                    "(``½ mean((y - ŷ)²)``, scikit-learn's); ``'poisson'`` is not available.",
        attributes="", target="X[:, 0]")
    _loss_names = ("squared_error",)

    def _build_loss(self, reduction: str):
        return nn.MSELoss(reduction=reduction, half=True)

