"""The estimators under test, or a skip of the importing test module without scikit-learn."""

import pytest

# A submodule, not the bare name: under pytest, tests/ is on sys.path, where the folder
# tests/sklearn would pass for an installed scikit-learn.
pytest.importorskip("sklearn.base", reason="the scikit-learn tests need it: pip install "
                                           "chainrule[sklearn]")

from chainrule.sklearn import (  # noqa: E402
    MLPClassifier,
    MLPRegressor,
    NeuralNetClassifier,
    NeuralNetRegressor,
)

__all__ = ["MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor"]
