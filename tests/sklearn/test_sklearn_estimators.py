"""The estimators in scikit-learn's tools (Pipeline, GridSearchCV, cross_val_score on the
digits), their equality with ``cr.fit`` called directly, and their parameters, state and
sample weights."""

from __future__ import annotations

import pickle
from contextlib import nullcontext

import numpy as np
import pytest
from estimators_under_test import (
    MLPClassifier,
    MLPRegressor,
    NeuralNetClassifier,
    NeuralNetRegressor,
)
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import chainrule as cr


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _small(X, y, n=300):
    return X[:n], y[:n]


# ----------------------------------------------------------------- scikit-learn's tools
def test_pipeline_with_scaler_on_digits_as_good_as_scikit_learns(digits):
    from sklearn.neural_network import MLPClassifier as ScikitLearnMLP

    X, y = digits
    scores = {}
    for cls in (MLPClassifier, ScikitLearnMLP):
        pipeline = make_pipeline(StandardScaler(), cls(hidden_layer_sizes=(64,), max_iter=30,
                                                       random_state=0))
        with pytest.warns(ConvergenceWarning):
            pipeline.fit(X[:1200], y[:1200])
        scores[cls] = pipeline.score(X[1200:], y[1200:])
    # measured 0.916 for chainrule's, 0.898 for scikit-learn's (seed 0; the last 597 digits
    # come from other writers than the first 1200)
    assert scores[MLPClassifier] > 0.9
    assert scores[MLPClassifier] > scores[ScikitLearnMLP] - 0.03


def test_grid_search_over_lr_and_hidden_sizes(digits):
    X, y = _small(*digits)
    search = GridSearchCV(
        NeuralNetClassifier(epochs=5, random_state=0),
        {"lr": [1e-4, 1e-2], "module__layers": [(8,), (32,)]}, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    # a rate of 1e-4 barely moves in 5 epochs: the search must prefer 1e-2
    assert search.best_params_["lr"] == 1e-2
    assert search.best_estimator_.module_[1].out_features == search.best_params_[
        "module__layers"][0]
    assert search.best_score_ > 0.8


def test_cross_val_score_on_digits(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning):
        scores = cross_val_score(MLPClassifier(hidden_layer_sizes=(32,), max_iter=10,
                                               learning_rate_init=0.01, random_state=0),
                                 X, y, cv=3)
    assert scores.shape == (3,)
    assert scores.mean() > 0.88  # measured 0.905 (seed 0; scikit-learn's MLP: 0.915)


# ------------------------------------------------------------- the same as cr.fit
def test_classifier_equals_cr_fit_called_directly(digits):
    X, y = _small(*digits)
    estimator = NeuralNetClassifier("mlp", module__layers=(16,), lr=0.01, epochs=3,
                                    batch_size=32, random_state=7).fit(X, y)

    cr.manual_seed(7)
    model = cr.models.build("mlp", (64,), 10, layers=(16,))
    optimizer = cr.optim.Adam(model.parameters(), lr=0.01)
    history = cr.fit(model, (X.astype(np.float32), y), loss="cross_entropy",
                     optimizer=optimizer, epochs=3, batch_size=32, metrics=(),
                     progress=False)

    for (name, mine), theirs in zip(estimator.module_.state_dict().items(),
                                    model.state_dict().values()):
        np.testing.assert_array_equal(mine, theirs, err_msg=name)
    assert estimator.loss_curve_ == history.history["loss"]
    logits = cr.predict(model, X.astype(np.float32))
    np.testing.assert_array_equal(estimator.predict(X), logits.argmax(axis=1))


def test_regressor_equals_cr_fit_called_directly(digits):
    X, _ = _small(*digits)
    target = X[:, 20:22] + X[:, 40:42]
    estimator = NeuralNetRegressor(module__layers=(8,), epochs=2, random_state=3).fit(X, target)

    cr.manual_seed(3)
    model = cr.models.build("mlp", (64,), 2, layers=(8,))
    cr.fit(model, (X.astype(np.float32), target.astype(np.float32)), loss="mse",
           optimizer=cr.optim.Adam(model.parameters(), lr=1e-3), epochs=2, metrics=(),
           progress=False)
    np.testing.assert_array_equal(estimator.predict(X), cr.predict(model, X.astype(np.float32)))


def test_random_state_leaves_the_global_stream_alone(digits):
    X, y = _small(*digits, n=50)
    cr.manual_seed(11)
    expected = cr.random.default_generator().random()
    cr.manual_seed(11)
    NeuralNetClassifier(epochs=1, random_state=0).fit(X, y)
    assert cr.random.default_generator().random() == expected


# ------------------------------------------------------------ parameters and state
def test_module_settings_are_parameters():
    estimator = NeuralNetClassifier(module__layers=(8,), optimizer__weight_decay=0.1)
    assert estimator.get_params()["module__layers"] == (8,)
    twin = clone(estimator.set_params(module__layers=(4, 4), lr=0.5))
    assert twin.get_params()["module__layers"] == (4, 4) and twin.lr == 0.5
    assert twin.get_params()["optimizer__weight_decay"] == 0.1
    assert "module__layers=(4, 4)" in repr(twin)


def test_unknown_setting_is_named_at_fit(digits):
    X, y = _small(*digits, n=40)
    with pytest.raises(TypeError, match=r"unknown parameters \['layers'\].*module__"):
        NeuralNetClassifier(layers=(8,)).fit(X, y)


@pytest.mark.parametrize("module", [
    "mlp",
    lambda input_shape, n_outputs, width: cr.nn.Sequential(
        cr.nn.Linear(input_shape[0], width), cr.nn.Tanh(), cr.nn.Linear(width, n_outputs)),
])
def test_module_by_name_or_builder_gets_the_data_sizes(module, digits):
    X, y = _small(*digits, n=60)
    option = {"module__layers": (6,)} if module == "mlp" else {"module__width": 6}
    estimator = NeuralNetClassifier(module, epochs=1, random_state=0, **option).fit(X, y)
    assert [p.shape for p in estimator.module_.parameters()] == [(6, 64), (6,), (10, 6), (10,)]


def test_module_instance_is_copied_and_module_class_built_with_settings(digits):
    X, y = _small(*digits, n=60)
    start = cr.nn.Sequential(cr.nn.Linear(64, 10))
    before = start.state_dict()["0.weight"].copy()
    estimator = NeuralNetClassifier(start, epochs=2, lr=0.1, random_state=0).fit(X, y)
    assert estimator.module_ is not start
    np.testing.assert_array_equal(start.state_dict()["0.weight"], before)
    built = NeuralNetClassifier(cr.nn.Linear, module__in_features=64, module__out_features=10,
                                epochs=1, random_state=0).fit(X, y)
    assert isinstance(built.module_, cr.nn.Linear)


def test_partial_fit_trains_one_epoch_and_needs_every_class_first(digits):
    X, y = _small(*digits, n=100)
    estimator = NeuralNetClassifier(module__layers=(8,), random_state=0)
    estimator.partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    estimator.partial_fit(X[y >= 5], y[y >= 5])
    assert estimator.n_iter_ == 2 and len(estimator.loss_curve_) == 2
    assert list(estimator.classes_) == list(range(10))
    first = NeuralNetClassifier(module__layers=(8,)).partial_fit(X[y < 5], y[y < 5])
    with pytest.raises(ValueError, match=r"labels \[5, 6, 7, 8, 9\] are not among the classes"):
        first.partial_fit(X, y)


def test_warm_start_continues_the_same_module(digits):
    X, y = _small(*digits)
    estimator = NeuralNetClassifier(module__layers=(8,), epochs=2, warm_start=True,
                                    random_state=0).fit(X, y)
    module = estimator.module_
    estimator.fit(X, y)
    assert estimator.module_ is module
    assert estimator.n_iter_ == 4
    assert estimator.loss_curve_[3] < estimator.loss_curve_[0]
    cold = clone(estimator).set_params(warm_start=False).fit(X, y).fit(X, y)
    assert cold.n_iter_ == 2


def test_pickled_fitted_estimator_predicts_the_same(digits):
    X, y = _small(*digits)
    estimator = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        estimator.fit(X, y)
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(restored.predict_proba(X), estimator.predict_proba(X))


def test_validation_fraction_reports_validation_loss_to_callbacks(digits):
    X, y = _small(*digits)
    stop = cr.callbacks.EarlyStopping(monitor="val_loss", patience=0)
    estimator = NeuralNetClassifier(lr=0.5, epochs=30, validation_fraction=0.2,
                                    callbacks=[stop], random_state=0).fit(X, y)
    assert "val_loss" in estimator.history_.history
    assert estimator.n_iter_ < 30  # lr 0.5 overshoots soon: stopped early


# ------------------------------------------------------------------ sample weights
@pytest.mark.parametrize("cls", [NeuralNetClassifier, MLPClassifier])
def test_zero_weights_remove_samples_and_integer_weights_repeat_them(cls, digits):
    """Full batches (one step per epoch): equal up to float32 rounding."""
    X, y = _small(*digits, n=60)
    weights = np.random.default_rng(0).integers(0, 3, size=len(X))
    options = ({"epochs": 5, "batch_size": 1000, "module__layers": (8,)} if cls is
               NeuralNetClassifier else {"max_iter": 5, "hidden_layer_sizes": (8,)})
    estimator = cls(random_state=0, **options)
    with pytest.warns(ConvergenceWarning) if cls is MLPClassifier else nullcontext():
        weighted = clone(estimator).fit(X, y, sample_weight=weights).predict_proba(X)
        repeated = clone(estimator).fit(X.repeat(weights, axis=0),
                                        y.repeat(weights)).predict_proba(X)
    np.testing.assert_allclose(weighted, repeated, atol=1e-6)


def test_sample_weight_needs_a_loss_by_name(digits):
    X, y = _small(*digits, n=40)
    estimator = NeuralNetClassifier(loss=cr.nn.CrossEntropyLoss(), epochs=1)
    estimator.fit(X, y)  # without weights any callable loss works
    with pytest.raises(TypeError, match="sample_weight needs a loss given by name or class"):
        estimator.fit(X, y, sample_weight=np.arange(len(X)))


# ---------------------------------------------------------------------- the MLPs
def test_mlp_attributes_follow_scikit_learn(digits):
    X, y = _small(*digits)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(2\) reached"):
        estimator = MLPClassifier(hidden_layer_sizes=(20, 12), max_iter=2).fit(X, y)
    assert [c.shape for c in estimator.coefs_] == [(64, 20), (20, 12), (12, 10)]
    assert [b.shape for b in estimator.intercepts_] == [(20,), (12,), (10,)]
    assert estimator.n_layers_ == 4 and estimator.n_iter_ == 2
    assert estimator.best_loss_ == min(estimator.loss_curve_)


def test_mlp_stops_when_scikit_learns_would(digits):
    from sklearn.neural_network import MLPRegressor as ScikitLearnMLP

    X, y = _small(*digits)
    options = {"hidden_layer_sizes": (8,), "tol": 10.0, "n_iter_no_change": 2,
               "random_state": 0}
    ours = MLPRegressor(**options).fit(X, y.astype(float))
    theirs = ScikitLearnMLP(**options).fit(X, y.astype(float))
    # Only the first epoch improves by tol: both stop when n_iter_no_change + 1 more missed.
    assert ours.n_iter_ == theirs.n_iter_ == 4


def test_mlp_alpha_shrinks_the_weights(digits):
    X, y = _small(*digits)
    norms = []
    for alpha in (0.0, 100.0):
        with pytest.warns(ConvergenceWarning):
            fitted = MLPClassifier(hidden_layer_sizes=(8,), alpha=alpha, max_iter=10,
                                   learning_rate_init=0.01, random_state=0).fit(X, y)
        norms.append(sum(float((c ** 2).sum()) for c in fitted.coefs_))
    # measured 18.9 and 0.62 (scikit-learn's MLP, whose initial weights differ: 30.7, 4.6)
    assert norms[1] < 0.25 * norms[0]


@pytest.mark.parametrize("option, message", [
    ({"solver": "lbfgs"}, "'lbfgs' is not available"),
    ({"learning_rate": "adaptive"}, "'adaptive' schedules are not available"),
    ({"activation": "softsign"}, "activation must be one of"),
    ({"loss": "poisson"}, "loss must be 'squared_error'"),
])
def test_mlp_options_chainrule_lacks_are_refused(option, message, digits):
    X, y = _small(*digits, n=40)
    with pytest.raises(ValueError, match=message):
        MLPRegressor(**option).fit(X, y.astype(float))


def test_regressor_predicts_float64_in_the_targets_shape(digits):
    X, _ = _small(*digits, n=80)
    one = NeuralNetRegressor(epochs=1).fit(X, X[:, 10])
    two = NeuralNetRegressor(epochs=1).fit(X, X[:, 10:12])
    assert one.predict(X).shape == (80,) and two.predict(X).shape == (80, 2)
    assert one.predict(X).dtype == np.float64



def test_mlp_early_stopping_equals_cr_fit_with_early_stopping(digits):
    """MLPClassifier(early_stopping=True) is cr.fit on a stratified split with scikit-learn's
    penalty and EarlyStopping(restore_best_weights=True), from the same seed."""
    X, y = _small(*digits)
    estimator = MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True, alpha=1e-3,
                              learning_rate_init=0.3, n_iter_no_change=1, random_state=0)
    estimator.fit(X, y)

    cr.manual_seed(0)
    model = cr.models.mlp((64,), 10, layers=(16,))
    decay = 1e-3 / 200  # alpha / batch ("auto": min(200, N))
    groups = [{"params": [p for n, p in model.named_parameters() if n.endswith("weight")],
               "weight_decay": decay},
              {"params": [p for n, p in model.named_parameters() if n.endswith("bias")],
               "weight_decay": 0.0}]
    x_train, x_valid, y_train, y_valid = cr.data.train_test_split(
        X.astype(np.float32), y, test_size=0.1, stratify=y)
    stop = cr.callbacks.EarlyStopping(patience=2, min_delta=1e-4, restore_best_weights=True)
    history = cr.fit(model, (x_train, y_train), loss="cross_entropy",
                     optimizer=cr.optim.Adam(groups, lr=0.3), epochs=200, batch_size=200,
                     validation_data=(x_valid, y_valid), metrics=(), callbacks=[stop],
                     progress=False)

    assert estimator.n_iter_ == len(history.epoch) < 200
    assert estimator.best_loss_ is None  # as scikit-learn's, with early stopping
    for (name, mine), theirs in zip(estimator.module_.state_dict().items(),
                                    model.state_dict().values()):
        np.testing.assert_array_equal(mine, theirs, err_msg=name)


def test_verbose_prints_a_line_per_epoch(digits, capsys):
    X, y = _small(*digits, n=60)
    NeuralNetClassifier(epochs=2, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
