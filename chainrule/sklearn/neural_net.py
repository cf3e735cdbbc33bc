"""``NeuralNetClassifier`` and ``NeuralNetRegressor``: any chainrule module as a scikit-learn
estimator (the design of skorch's classes of these names: the module, loss and optimizer as
parameters, their own settings as ``module__``/``optimizer__``/``loss__`` parameters)."""

from __future__ import annotations

from sklearn.base import ClassifierMixin, RegressorMixin

from ..nn.loss import get_loss as lookup_loss
from ..optim import get as lookup_optimizer
from .base import _Classification, _Estimator, _Regression, build_module

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]

_PREFIXES = ("module__", "optimizer__", "loss__")


class _NeuralNet(_Estimator):
    """The parameters and the ``module__``-style settings shared by the two estimators."""

    def __init__(self, module="mlp", *, loss=None, optimizer="adam", lr: float = 1e-3,
                 epochs: int = 10, batch_size: int = 32, validation_fraction: float = 0.0,
                 callbacks=None, shuffle: bool = True, random_state=None,
                 warm_start: bool = False, verbose: int = 0, **settings):
        self.module, self.loss, self.optimizer, self.lr = module, loss, optimizer, lr
        self.epochs, self.batch_size = epochs, batch_size
        self.validation_fraction, self.callbacks = validation_fraction, callbacks
        self.shuffle, self.random_state = shuffle, random_state
        self.warm_start, self.verbose = warm_start, verbose
        # Private, so scikit-learn's checks see only constructor arguments as attributes;
        # get_params/set_params read and write them like the named parameters. As with every
        # parameter, fit checks them (init and set_params never raise).
        self._settings = settings

    def get_params(self, deep: bool = True) -> dict:
        return {**super().get_params(deep), **self._settings}

    def set_params(self, **params):
        named = self._get_param_names()
        settings = {k: v for k, v in params.items() if k not in named}
        self._settings = {**self._settings, **settings}
        return super().set_params(**{k: v for k, v in params.items() if k not in settings})

    def _prefixed(self, prefix: str) -> dict:
        _check_settings(type(self).__name__, self._settings)
        return {k[len(prefix):]: v for k, v in self._settings.items() if k.startswith(prefix)}

    def _build_module(self, n_features: int, n_outputs: int):
        return build_module(self.module, n_features, n_outputs, self._prefixed("module__"))

    def _build_optimizer(self, module, settings: dict):
        return lookup_optimizer(self.optimizer, module.parameters(), lr=self.lr,
                                **self._prefixed("optimizer__"))

    def _build_loss(self, reduction: str):
        options = self._prefixed("loss__")
        loss = self._default_loss if self.loss is None else self.loss
        if reduction == "mean":
            return lookup_loss(loss, **options)
        if not isinstance(loss, (str, type)):
            raise TypeError(f"{type(self).__name__}: sample_weight needs a loss given by name "
                            "or class (built with reduction='none'), got "
                            f"{type(self.loss).__name__}")
        return lookup_loss(loss, reduction=reduction, **options)

    def _training(self, n_samples: int, counted: float) -> dict:
        return {"epochs": self.epochs, "batch_size": self.batch_size, "shuffle": self.shuffle,
                "validation_fraction": self.validation_fraction,
                "callbacks": list(self.callbacks or ())}

    def fit(self, X, y, sample_weight=None):
        """Train a new module on (X, y) for ``epochs`` epochs (continue the current one with
        ``warm_start``); returns self.

        **Shape**: X ``(N, F)``; y ``(N,)`` (or ``(N, T)`` for regression); sample_weight
        ``(N,)``."""
        return self._fit(X, y, sample_weight, partial=False)


def _check_settings(owner: str, settings: dict) -> None:
    unknown = [k for k in settings if not k.startswith(_PREFIXES)]
    if unknown:
        raise TypeError(f"{owner}: unknown parameters {sorted(unknown)}; settings of the "
                        "module, optimizer and loss take the prefixes module__, optimizer__ "
                        "and loss__")


_DOC = """{summary}

    A scikit-learn estimator over a chainrule module: ``fit`` builds the module and an
    optimizer and trains with ``cr.fit`` (shuffled batches, ``epochs`` passes); ``partial_fit``
    trains one more epoch. It works in ``Pipeline``, ``GridSearchCV`` (``module__*`` and
    ``optimizer__*`` settings are parameters), ``cross_val_score`` and ``clone``. Inputs are
    float arrays ``(N, F)``, trained in float32.

    Pickling a fitted estimator (``pickle``, ``joblib``) is how scikit-learn tools store and
    ship estimators, so it is supported here, and only here: chainrule's own model files are
    safetensors, which never execute code; unpickle only files you trust.

    Args:
        module: what to train: a model name of ``cr.models.build`` (``"mlp"``; it is given
            the input and output sizes), a builder ``f(input_shape, n_outputs, **options)``, a
            ``Module`` class (built with the ``module__`` settings), or a ``Module`` (each fit
            starts from a copy of it). {outputs}
        loss: a loss name or class (None: ``{loss!r}``) or callable ``(pred, y) -> Tensor``;
            ``loss__*`` settings go to its constructor. ``sample_weight`` needs a name or
            class (its ``reduction='none'`` form weights each sample).
        optimizer: an optimizer name (``"adam"``, ``"sgd"``, …) or class, built with ``lr``
            and the ``optimizer__*`` settings.
        lr: learning rate.
        epochs: passes over the data per ``fit``.
        batch_size: samples per step.
        validation_fraction: share of the data held out{stratified} to report ``val_loss`` each
            epoch (for callbacks such as ``cr.callbacks.EarlyStopping``).
        callbacks: ``cr.callbacks`` objects passed to ``cr.fit``.
        shuffle: reshuffle the batches every epoch.
        random_state: seed (int or ``RandomState``) of the initial weights, shuffling and
            dropout; the estimator then has a random stream of its own and leaves the global
            one alone. None draws from chainrule's global stream.
        warm_start: ``fit`` continues training the current module instead of a new one.
        verbose: print one line per epoch.
        **settings: ``module__name=value``, ``optimizer__name=value``, ``loss__name=value``.

    Attributes:
        module_: the trained module; optimizer_: its optimizer; history_: the last
        ``cr.fit``'s ``History``; loss_curve_, loss_: training loss per epoch and the last;
        n_iter_: epochs trained; n_features_in_{attributes}.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> from chainrule.sklearn import {name}
        >>> X, y = load_iris(return_X_y=True)
        >>> model = {name}(module__layers=(16,), lr=0.01, epochs=5, random_state=0)
        >>> model.fit(X, {target}).predict(X[:2]).shape
        (2,)
"""


class NeuralNetClassifier(ClassifierMixin, _Classification, _NeuralNet):
    __doc__ = _DOC.format(
        summary="A chainrule module as a scikit-learn classifier.",
        outputs="The module returns one logit per class.", loss="cross_entropy",
        stratified=" (stratified)", attributes="; classes_: the labels",
        name="NeuralNetClassifier", target="y")


class NeuralNetRegressor(RegressorMixin, _Regression, _NeuralNet):
    __doc__ = _DOC.format(
        summary="A chainrule module as a scikit-learn regressor.",
        outputs="The module returns one value per target column.", loss="mse", stratified="",
        attributes="", name="NeuralNetRegressor", target="X[:, 0]")
