"""The scikit-learn estimator machinery shared by ``NeuralNet*`` and ``MLP*``: input checks,
the estimator's own random stream, sample weights, and training through ``cr.fit``.

An estimator subclass says *what* to train (``_build_module``, ``_build_optimizer``,
``_build_loss``, ``_training``); this base decides *how*: ``fit`` builds a fresh module (unless
``warm_start``), ``partial_fit`` runs one more epoch on the current one, and both call
``cr.fit`` (never a loop of their own).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..nn.module import Module
from ..random import get_rng_state, manual_seed, set_rng_state
from ..tensor import Tensor
from ..train import fit, predict

__all__: list[str] = []


class _WeightedLoss:
    """``L = mean_i w[r_i] · ℓ(pred_i, y[r_i])``: a per-sample loss ``ℓ`` weighted by sample.

    ``cr.fit`` hands a loss the batch's targets; with sample weights those "targets" are the
    rows ``r`` of the samples, and this loss looks up their true targets and weights. The
    weights are scaled to mean 1 over all samples, so a weight of 2 counts a sample twice.
    """

    def __init__(self, per_sample, y: np.ndarray, weights: np.ndarray):
        self.per_sample, self.y, self.weights = per_sample, y, weights

    def __call__(self, pred: Tensor, rows: Tensor) -> Tensor:
        rows = rows.data
        losses = self.per_sample(pred, self.y[rows])
        weights = self.weights[rows].reshape(-1, *(1,) * (losses.ndim - 1))
        return (losses * Tensor(weights.astype(losses.dtype))).mean()


class _Estimator(BaseEstimator):
    """fit / partial_fit / predict over a chainrule module, for the estimators in this
    package. Subclasses define ``_build_module(n_features, n_outputs)``,
    ``_build_optimizer(module, settings)``, ``_build_loss(reduction)``,
    ``_training(n_samples, counted)`` (the settings of ``cr.fit``; ``counted`` is the samples'
    total weight) and, through the classifier and regressor mixins below, ``_targets``."""

    _stream_state: Mapping[str, Any]  # the random stream where the last call left it

    # scikit-learn's estimator checks these estimators are expected to fail, with the reason
    # (passed to parametrize_with_checks' expected_failed_checks by the tests).
    _xfail_checks: dict[str, str] = {
        "check_sample_weight_equivalence_on_dense_data": (
            "training runs in float32: a sample of weight k and k copies of it give the same "
            "loss up to rounding in the sums (outputs agree to ~1e-7 absolute), while the check "
            "asks for a relative 1e-7"),
    }

    # ----------------------------------------------------------------- the random stream
    @contextlib.contextmanager
    def _own_stream(self, fresh: bool):
        """Run under the estimator's own random stream when ``random_state`` is set: seeded at
        a fresh fit, continued where the last call left it otherwise; the caller's global
        stream is restored afterwards. ``random_state=None`` draws from the global stream."""
        if self.random_state is None:
            yield
            return
        outside = get_rng_state()
        if fresh or not hasattr(self, "_stream_state"):
            seed = self.random_state
            if not isinstance(seed, (int, np.integer)):
                seed = check_random_state(seed).randint(np.iinfo(np.int32).max)
            manual_seed(int(seed))
        else:
            set_rng_state(self._stream_state)
        try:
            yield
        finally:
            self._stream_state = get_rng_state()
            set_rng_state(outside)

    # ----------------------------------------------------------------------- training
    def _fit(self, X, y, sample_weight, *, partial: bool, classes=None):
        fresh = not hasattr(self, "module_") or not (partial or self.warm_start)
        X, y = validate_data(self, X, y, reset=fresh, dtype=(np.float32, np.float64),
                             **self._target_checks())
        targets = self._targets(y, fresh, classes)
        X = X.astype(np.float32, copy=False)
        weights, counted = None, float(len(X))
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            counted = float(weights.sum())
            # Equal weights change nothing (the loss is a weighted mean): the plain path.
            weights = None if np.all(weights == weights[0]) else weights * (len(X) / counted)
        settings = self._training(len(X), counted)
        epochs = 1 if partial else settings["epochs"]
        with self._own_stream(fresh):
            if fresh:
                self.module_ = self._build_module(X.shape[1], self._n_outputs(targets))
                self.optimizer_ = self._build_optimizer(self.module_, settings)
                self.loss_curve_: list[float] = []
                self.n_iter_ = 0
            history = self._train(X, targets, weights, epochs, settings)
        self.history_ = history
        self.n_iter_ += len(history.epoch)
        self.loss_curve_ += history.history.get("loss", [])
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else float("nan")
        return self

    def _train(self, X, targets, weights, epochs: int, settings: dict):
        """``cr.fit`` on (X, targets), holding out ``validation_fraction`` (stratified for
        classifiers) and, with sample weights, passing row numbers to a ``_WeightedLoss``."""
        loss = self._build_loss("mean")
        train, validation = (X, targets), None
        if weights is not None:
            loss = _WeightedLoss(self._build_loss("none"), targets, weights)
            train = (X, np.arange(len(X)))
        fraction = settings["validation_fraction"]
        if fraction:
            from ..data import train_test_split

            stratify = targets if getattr(self, "_stratify", False) else None
            x_train, x_valid, y_train, y_valid = train_test_split(
                *train, test_size=fraction, seed=None, stratify=stratify)
            train, validation = (x_train, y_train), (x_valid, y_valid)
        return fit(self.module_, train, loss=loss, optimizer=self.optimizer_, epochs=epochs,
                   validation_data=validation, metrics=(), callbacks=settings["callbacks"],
                   progress="lines" if self.verbose else False, shuffle=settings["shuffle"],
                   batch_size=settings["batch_size"], seed=None)

    def _outputs(self, X) -> np.ndarray:
        """The module's outputs for ``X`` (float32), after the fitted-ness and input checks."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float32, np.float64))
        return predict(self.module_, X.astype(np.float32, copy=False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class _Classification:
    """Targets are class labels: ``classes_``, logits per class, softmax probabilities."""

    _stratify, _default_loss = True, "cross_entropy"
    _outputs: Callable[[Any], np.ndarray]  # _Estimator's, beside which this mixin is used

    def _target_checks(self) -> dict:
        return {}

    def _targets(self, y, fresh: bool, classes) -> np.ndarray:
        check_classification_targets(y)
        if fresh:
            labels = np.unique(y) if classes is None else np.unique(classes)
            self.classes_ = labels
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(f"{type(self).__name__}: labels {unknown.tolist()} are not among "
                             f"the classes {self.classes_.tolist()} of the first fit "
                             "(pass every class to partial_fit's classes on the first call)")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _n_outputs(self, targets) -> int:
        return len(self.classes_)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One more epoch on (X, y), starting a new model on the first call; ``classes`` (all
        labels that will ever appear) is needed on that first call unless ``y`` has them all.

        **Shape**: X ``(N, F)``, y ``(N,)``."""
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, the softmax of the module's logits. **Shape**: ``(N, C)``."""
        return Tensor(self._outputs(X)).softmax(axis=1).data

    def predict_log_proba(self, X) -> np.ndarray:
        """Log class probabilities. **Shape**: ``(N, C)``."""
        return Tensor(self._outputs(X)).log_softmax(axis=1).data

    def predict(self, X) -> np.ndarray:
        """The likeliest class of each sample. **Shape**: ``(N,)``."""
        scores = self._outputs(X)  # first: it raises NotFittedError before fit
        return self.classes_[scores.argmax(axis=1)]


class _Regression:
    """Targets are numbers: one output per target column (a 1-d ``y`` is one column)."""

    _stratify, _default_loss = False, "mse"
    _outputs: Callable[[Any], np.ndarray]  # _Estimator's, beside which this mixin is used

    def _target_checks(self) -> dict:
        return {"multi_output": True, "y_numeric": True}

    def _targets(self, y, fresh: bool, classes) -> np.ndarray:
        y = np.asarray(y, dtype=np.float32)
        if fresh:
            self._single_target = y.ndim == 1
        elif (y.ndim == 1) != self._single_target:
            raise ValueError(f"{type(self).__name__}: y has {y.ndim} axes, unlike the first "
                             "fit's")
        return y.reshape(len(y), -1)

    def _n_outputs(self, targets) -> int:
        return targets.shape[1]

    def partial_fit(self, X, y, sample_weight=None):
        """One more epoch on (X, y), starting a new model on the first call.

        **Shape**: X ``(N, F)``, y ``(N,)`` or ``(N, T)``."""
        return self._fit(X, y, sample_weight, partial=True)

    def predict(self, X) -> np.ndarray:
        """The module's outputs. **Shape**: ``(N,)`` for a 1-d training ``y``, else
        ``(N, T)``."""
        out = self._outputs(X).astype(np.float64)  # scikit-learn's regressors predict float64
        return out[:, 0] if self._single_target else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def build_module(module, n_features: int, n_outputs: int, options: dict) -> Module:
    """The module an estimator trains: a ``Module`` class built with ``options``; a model name
    of ``cr.models.build`` or a builder ``f(input_shape, n_outputs, **options)`` given the data's
    sizes; a ``Module`` instance copied (each fit starts from its weights)."""
    import copy

    from .. import models

    if isinstance(module, Module):
        if options:
            raise ValueError(f"module is a built {type(module).__name__}; module__ parameters "
                             f"{sorted(options)} cannot apply to it")
        return copy.deepcopy(module)
    if isinstance(module, type) and issubclass(module, Module):
        return module(**options)
    if isinstance(module, str):
        return models.build(module, (n_features,), n_outputs, **options)
    if callable(module):
        return module((n_features,), n_outputs, **options)
    raise TypeError(f"module must be a Module, a Module class, a model name or a builder, got "
                    f"{type(module).__name__}")
