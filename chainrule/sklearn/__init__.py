"""scikit-learn estimators over chainrule modules: ``NeuralNetClassifier``/``NeuralNetRegressor``
(any module) and ``MLPClassifier``/``MLPRegressor`` (scikit-learn's arguments and defaults).

Needs the optional scikit-learn package (``pip install chainrule[sklearn]``).
"""

try:
    import sklearn.base  # noqa: F401
except ImportError:
    raise ImportError("chainrule.sklearn needs scikit-learn: pip install chainrule[sklearn]"
                      ) from None

from .mlp import MLPClassifier, MLPRegressor
from .neural_net import NeuralNetClassifier, NeuralNetRegressor

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "MLPClassifier", "MLPRegressor"]
