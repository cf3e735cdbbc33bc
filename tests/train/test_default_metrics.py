"""The metrics ``fit`` and ``evaluate`` report by default follow the loss: accuracy for
classification, binary accuracy for binary cross-entropy, MAE and R² for regression."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.train import metrics


@pytest.mark.parametrize("loss, expected", [
    ("cross_entropy", ["accuracy"]), ("nll", ["accuracy"]),
    (cr.nn.CrossEntropyLoss(label_smoothing=0.1), ["accuracy"]),
    ("mse", ["mean_absolute_error", "r2_score"]), ("l1", ["mean_absolute_error", "r2_score"]),
    (cr.nn.functional.huber_loss, ["mean_absolute_error", "r2_score"]),
    ("bce", ["binary_accuracy"]), ("bce_with_logits", ["binary_accuracy"]),
    (lambda pred, y: (pred - y).abs().mean(), []), (None, ["accuracy"]),
])
def test_default_metrics_follow_the_loss(loss, expected):
    assert list(metrics.resolve("auto", loss=loss)) == expected


def test_regression_through_fit_and_evaluate():
    """The issue's example: float targets with MSE failed on the accuracy metric."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 3)).astype(np.float32)
    y = x @ np.array([1.0, -2.0, 0.5], np.float32)
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 16), cr.nn.ReLU(), cr.nn.Linear(16, 1))
    history = cr.fit(model, (x, y[:, None]), loss="mse", optimizer="adam", epochs=30,
                     progress=False, validation_data=(x[:64], y[:64, None]))
    assert sorted(history.history) == ["loss", "lr", "mean_absolute_error", "r2_score",
                                       "val_loss", "val_mean_absolute_error", "val_r2_score"]
    assert history.history["r2_score"][-1] > history.history["r2_score"][0]
    result = cr.evaluate(model, (x, y[:, None]), loss="mse")
    assert sorted(result) == ["loss", "mean_absolute_error", "r2_score"]
    assert result["r2_score"] == pytest.approx(metrics.r2_score(y[:, None],
                                                                cr.predict(model, x)), abs=1e-9)


def test_binary_accuracy_thresholds_probabilities_or_logits():
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    assert metrics.binary_accuracy(y, np.array([[0.9], [0.2], [0.4], [0.6]])) == 0.5
    logits = np.array([[2.0], [-1.0], [0.5], [-0.1]])
    (of_logits,) = metrics.defaults_for("bce_with_logits")
    assert of_logits(y, logits) == 1.0 and metrics.greater_is_better(of_logits)
    with pytest.raises(ValueError, match="binary_accuracy: y_true has shape"):
        metrics.binary_accuracy(y, np.zeros(4))
