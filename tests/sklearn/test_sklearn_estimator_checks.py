"""scikit-learn's own estimator checks (``parametrize_with_checks``, every check of the
installed version) on the four estimators, with few epochs so they run fast."""

from __future__ import annotations

import pytest
from estimators_under_test import (
    MLPClassifier,
    MLPRegressor,
    NeuralNetClassifier,
    NeuralNetRegressor,
)
from sklearn.utils.estimator_checks import parametrize_with_checks

ESTIMATORS = [
    NeuralNetClassifier(module__layers=(16,), lr=0.02, epochs=20, random_state=0),
    NeuralNetRegressor(module__layers=(16,), lr=0.02, epochs=20, random_state=0),
    MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.02, max_iter=20,
                  random_state=0),
    MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.02, max_iter=20,
                 random_state=0),
]


# A few epochs seldom meet the stopping rule: the MLPs warn as scikit-learn's do.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda e: e._xfail_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
