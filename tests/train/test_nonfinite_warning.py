"""fit warns once, at the first non-finite loss, and says where it came from (issue 18.4).
Before: training on all-NaN data ran to the end and left NaN weights without a word."""

import warnings

import numpy as np
import pytest

import chainrule as cr


def _fit(model, x, y, epochs=2, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cr.fit(model, (x, y), loss="mse", optimizer=cr.optim.SGD(model.parameters(), lr=0.1),
               epochs=epochs, batch_size=4, progress=False, shuffle=False, **options)
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)
            and "fit:" in str(w.message)]


def test_nan_inputs_are_named_once():
    x = np.ones((8, 2), np.float32)
    x[5, 1] = np.nan
    messages = _fit(cr.nn.Linear(2, 1), x, np.zeros((8, 1), np.float32))
    assert messages == ["fit: the training loss is nan in batch 2 of epoch 1; the inputs x of "
                        "the batch hold 1 non-finite value(s) of 8. Training goes on (the "
                        "TerminateOnNaN callback stops it)"]


def test_nan_targets_are_named_and_nan_weights_point_to_the_forward_pass():
    y = np.zeros((8, 1), np.float32)
    y[0] = np.inf
    assert "the targets y of the batch hold 1" in _fit(cr.nn.Linear(2, 1),
                                                       np.ones((8, 2), np.float32), y)[0]
    model = cr.nn.Sequential(cr.nn.Linear(2, 1))
    model[0].weight.data[0, 0] = np.nan
    (message,) = _fit(model, np.ones((8, 2), np.float32), np.zeros((8, 1), np.float32))
    assert "the batch is finite, so the forward pass of Sequential made it" in message


def test_an_overflow_in_the_forward_pass_points_to_the_gradient_monitor():
    model = cr.nn.Sequential(cr.nn.Linear(1, 1))
    model[0].weight.data[...] = 1.0
    x = np.full((4, 1), 100.0, np.float32)
    messages = _fit(cr.nn.Sequential(model, _Exp()), x, np.zeros((4, 1), np.float32), epochs=1)
    assert "the forward pass of Sequential made it" in messages[0]
    assert "GradientMonitor" in messages[0]


class _Exp(cr.nn.Module):
    def forward(self, x):
        return x.exp()


def test_a_finite_run_does_not_warn(blobs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        cr.fit(cr.nn.Linear(4, 3), blobs[0], loss="cross_entropy", optimizer="sgd", epochs=1,
               progress=False)


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(40, 4)).astype(np.float32), np.arange(40) % 3), None
