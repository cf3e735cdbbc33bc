"""Metrics against scikit-learn, their streaming forms, the name lookup and their errors."""

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
from chainrule.train.metrics import resolve, stream

skm = importorskip("sklearn.metrics")  # the reference; CI installs scikit-learn

rng = np.random.default_rng(1)
LABELS = rng.integers(0, 5, size=200)
SCORES = rng.normal(size=(200, 5)).astype(np.float32)
SCORES[np.arange(100), LABELS[:100]] += 2.0  # half the samples clearly right


def test_accuracy_from_scores_and_labels_matches_sklearn():
    expected = skm.accuracy_score(LABELS, SCORES.argmax(axis=1))
    assert 0.4 < expected < 0.9
    assert cr.metrics.accuracy(LABELS, SCORES) == pytest.approx(expected, abs=1e-12)
    assert cr.metrics.accuracy(LABELS, SCORES.argmax(axis=1)) == pytest.approx(expected, abs=1e-12)
    assert cr.metrics.accuracy(cr.tensor(LABELS), cr.tensor(SCORES)) == pytest.approx(expected)


def test_accuracy_binary_threshold():
    y = np.array([0, 1, 1, 0])
    probs = np.array([0.2, 0.7, 0.4, 0.6])
    assert cr.metrics.accuracy(y, probs, threshold=0.5) == 0.5
    logits = np.array([-1.0, 2.0, 0.5, -0.1])
    assert cr.metrics.accuracy(y, logits, threshold=0.0) == 1.0


def test_top_k_accuracy_matches_sklearn():
    for k in (1, 2, 3):
        expected = skm.top_k_accuracy_score(LABELS, SCORES, k=k, labels=np.arange(5))
        assert cr.metrics.top_k_accuracy(LABELS, SCORES, k=k) == pytest.approx(expected)
    assert cr.metrics.top_k_accuracy(LABELS, SCORES, k=5) == 1.0


def test_confusion_matrix_matches_sklearn():
    predicted = SCORES.argmax(axis=1)
    expected = skm.confusion_matrix(LABELS, predicted, labels=np.arange(5))
    np.testing.assert_array_equal(cr.metrics.confusion_matrix(LABELS, SCORES), expected)
    np.testing.assert_array_equal(cr.metrics.confusion_matrix(LABELS, predicted), expected)
    wide = cr.metrics.confusion_matrix(LABELS, predicted, num_classes=7)
    assert wide.shape == (7, 7) and wide.sum() == 200 and wide[5:].sum() == 0


def test_regression_metrics_match_sklearn():
    y = rng.normal(size=(50, 3))
    pred = y + rng.normal(scale=0.3, size=y.shape)
    assert cr.metrics.mean_absolute_error(y, pred) == pytest.approx(
        skm.mean_absolute_error(y, pred), rel=1e-12)
    assert cr.metrics.r2_score(y, pred) == pytest.approx(skm.r2_score(y, pred), rel=1e-12)
    assert cr.metrics.r2_score(y[:, 0], pred[:, 0]) == pytest.approx(
        skm.r2_score(y[:, 0], pred[:, 0]), rel=1e-12)


def test_r2_constant_target_follows_sklearn():
    y = np.full(6, 3.0)
    assert cr.metrics.r2_score(y, y) == skm.r2_score(y, y) == 1.0
    assert cr.metrics.r2_score(y, y + 1) == skm.r2_score(y, y + 1) == 0.0


@pytest.mark.parametrize("name", ["accuracy", "top_k_accuracy", "mae", "r2"])
def test_streaming_over_uneven_batches_equals_the_whole(name):
    if name in ("accuracy", "top_k_accuracy"):
        y, pred = LABELS, SCORES
    else:  # a large offset: the streamed R² must not lose precision to cancellation
        y = 1e4 + rng.normal(size=(200, 2))
        pred = y + rng.normal(scale=0.5, size=y.shape)
    ((log_name, function),) = resolve(name).items()
    accumulator = stream(function)
    for start, stop in ((0, 7), (7, 100), (100, 101), (101, 200)):
        accumulator.update(y[start:stop], pred[start:stop])
    assert log_name == cr.metrics.get(name).__name__
    assert accumulator.result() == pytest.approx(cr.metrics.get(name)(y, pred), rel=1e-9)


def test_get_resolves_names_and_callables():
    assert cr.metrics.get("acc") is cr.metrics.accuracy
    assert cr.metrics.get("MAE") is cr.metrics.mean_absolute_error
    assert cr.metrics.get("r2") is cr.metrics.r2_score

    def custom(y_true, y_pred):
        return 0.0

    assert cr.metrics.get(custom) is custom
    with pytest.raises(ValueError, match="unknown metric 'f1'.*accuracy"):
        cr.metrics.get("f1")


def test_each_metric_declares_which_way_is_better():
    declared = {name: cr.metrics.greater_is_better(name)
                for name in ("accuracy", "acc", "top5", "mae", "r2")}
    assert declared == {"accuracy": True, "acc": True, "top5": True, "mae": False, "r2": True}

    def f1(y_true, y_pred):
        return 0.0

    assert cr.metrics.greater_is_better(f1) is None
    f1.greater_is_better = True
    assert cr.metrics.greater_is_better(f1) is True


def test_errors_name_the_metric_shapes_and_dtypes():
    with pytest.raises(TypeError, match=r"accuracy: y_true must hold integer class labels, got "
                                        r"dtype float64"):
        cr.metrics.accuracy(LABELS.astype(float), SCORES)
    with pytest.raises(ValueError, match=r"accuracy: y_true has shape \(200,\) but the predicted "
                                         r"labels have shape \(199,\)"):
        cr.metrics.accuracy(LABELS, SCORES[:199])
    with pytest.raises(ValueError, match=r"accuracy: y_pred of shape \(200,\) and dtype float32"):
        cr.metrics.accuracy(LABELS, SCORES[:, 0])
    with pytest.raises(ValueError, match=r"r2_score: y_true has shape \(4,\) but y_pred has "
                                         r"shape \(4, 1\)"):
        cr.metrics.r2_score(np.zeros(4), np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"top_k_accuracy: expected y_true \(N,\) and y_score"):
        cr.metrics.top_k_accuracy(LABELS, SCORES[:, 0])
    with pytest.raises(ValueError, match=r"confusion_matrix: labels must lie in \[0, 3\)"):
        cr.metrics.confusion_matrix(np.array([0, 3]), np.array([0, 1]), num_classes=3)
    with pytest.raises(ValueError, match="confusion_matrix is not a scalar metric"):
        resolve(["accuracy", "confusion_matrix"])
