"""The playground's data sets, settings and network: seeded, checked, as documented."""

import numpy as np
import pytest

from chainrule.playground.config import LIMITS, Config, ConfigError
from chainrule.playground.datasets import NAMES, load
from chainrule.playground.network import build_model, outputs, predictions, targets


@pytest.mark.parametrize("name", [n for n in NAMES if n != "digits"])
def test_plane_sets_are_seeded_balanced_and_in_view(name):
    data = load(name, points=200, noise=0.1, seed=3)
    again = load(name, points=200, noise=0.1, seed=3)
    np.testing.assert_array_equal(data.x_train, again.x_train)
    assert not np.array_equal(data.x_train, load(name, points=200, noise=0.1, seed=4).x_train)
    assert data.x_train.shape == (150, 2) and data.x_test.shape == (50, 2)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    labels = np.concatenate([data.y_train, data.y_test])
    assert np.bincount(labels).min() >= 200 // data.classes - 1  # classes drawn in turn
    everything = np.concatenate([data.view_train, data.view_test])
    (x_lo, x_hi), (y_lo, y_hi) = data.bounds
    assert (everything[:, 0] > x_lo).all() and (everything[:, 0] < x_hi).all()
    assert (everything[:, 1] > y_lo).all() and (everything[:, 1] < y_hi).all()


def test_xor_labels_follow_the_quadrants_without_noise():
    data = load("xor", points=100, noise=0.0)
    np.testing.assert_array_equal(data.y_train, data.x_train[:, 0] * data.x_train[:, 1] > 0)


def test_digits_are_seen_in_their_principal_plane():
    data = load("digits")
    assert data.x_train.shape[1] == 64 and data.classes == 10 and data.axes == ("PC 1", "PC 2")
    mean, basis = data.components
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-5)  # orthonormal
    # A point of the plane maps to an image whose projection is that point again.
    points = np.array([[1.0, -2.0], [0.5, 0.25]])
    images = data.to_input(points)
    assert images.shape == (2, 64) and images.dtype == np.float32
    np.testing.assert_allclose((images - mean) @ basis.T, points, atol=1e-5)
    # The first component carries more of the variance than the second.
    assert data.view_train[:, 0].var() > data.view_train[:, 1].var()


def test_unknown_set():
    with pytest.raises(ValueError, match="unknown playground data set 'moons'; choose one of"):
        load("moons")


def test_settings_are_checked_and_name_what_is_wrong():
    assert Config.from_json({}) == Config()
    config = Config.from_json({"dataset": "xor", "hidden": [8, 2], "lr": 1, "loss": "mse"})
    assert config.hidden == (8, 2) and config.lr == 1.0
    assert config.to_json()["hidden"] == [8, 2]
    bad = [({"hidden": [9]}, "hidden layer width must be an integer from 1 to 8, got 9"),
           ({"hidden": [2] * 7}, "hidden must be a list of at most 6"),
           ({"batch_size": LIMITS["batch_size"] + 1}, "batch_size must be an integer from 1"),
           ({"points": 5000}, "points must be an integer from 20 to 1000"),
           ({"points": True}, "points must be an integer"),
           ({"lr": 0}, r"lr must be a number in \(0, 10\]"),
           ({"lr": float("nan")}, "lr must be a number"),
           ({"noise": "loud"}, r"noise must be a number in \[0, 0.5\]"),
           ({"activation": "gelu"}, "activation must be one of tanh, sigmoid, relu"),
           ({"layers": 3}, "unknown setting 'layers'"),
           ([], "must be a JSON object")]
    for data, message in bad:
        with pytest.raises(ConfigError, match=message):
            Config.from_json(data)


def test_only_the_learning_settings_are_taken_over_live():
    config = Config()
    assert config.same_network(Config(lr=0.5, batch_size=3, weight_decay=0.01))
    assert not config.same_network(Config(hidden=(2,)))
    assert not config.same_network(Config(seed=1))


def test_the_network_the_settings_describe():
    model = build_model(Config(hidden=(3, 2), activation="relu", loss="cross_entropy"), 2, 3)
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert model[4].out_features == 3 == outputs(Config(loss="cross_entropy"), 3)
    mse = build_model(Config(hidden=(), loss="mse"), 64, 10)
    assert [type(m).__name__ for m in mse] == ["Linear", "Sigmoid"]
    assert mse[0].out_features == 10
    first = build_model(Config(seed=5), 2, 2)[0].weight.data
    np.testing.assert_array_equal(first, build_model(Config(seed=5), 2, 2)[0].weight.data)


def test_targets_and_predictions():
    labels = np.array([0, 2, 1])
    assert targets(Config(loss="cross_entropy"), labels, 3) is labels
    np.testing.assert_array_equal(targets(Config(loss="mse"), labels, 3), np.eye(3)[labels])
    assert targets(Config(loss="mse"), np.array([0, 1]), 2).shape == (2, 1)
    classes, confidence = predictions(Config(loss="mse"), np.array([[0.5], [0.9], [0.0]]))
    np.testing.assert_array_equal(classes, [0, 1, 0])
    np.testing.assert_allclose(confidence, [0.0, 0.8, 1.0])
    classes, confidence = predictions(Config(loss="cross_entropy"),
                                      np.array([[0.0, 0.0], [5.0, -5.0]]))
    np.testing.assert_array_equal(classes, [0, 0])
    assert confidence[0] == pytest.approx(0.0) and confidence[1] > 0.99
