"""End to end: the default CNN learns real images (the embedded 8x8 digits), seeded."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.models.cnn import cnn


def test_default_cnn_learns_digits():
    (x_train, y_train), (x_test, y_test) = cr.datasets.load_digits(seed=0)
    cr.manual_seed(0)
    model = cnn(x_train.shape[1:], 10, channels=(8, 16), hidden=32, dropout=0.1)
    optimizer = cr.optim.Adam(model.parameters(), lr=3e-3)
    history = cr.fit(model, (x_train, y_train), loss="cross_entropy", optimizer=optimizer,
                     epochs=6, batch_size=32, seed=0, progress=False)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] / 3
    result = cr.evaluate(model, (x_test, y_test), loss="cross_entropy", metrics=("accuracy",))
    assert result["accuracy"] >= 0.95, result
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model[1].running_var.dtype == np.float32 and model[1].num_batches_tracked == 6 * 45


def test_default_cnn_shapes_and_arguments():
    model = cnn((3, 32, 32), 10, channels=(4, 8, 16), hidden=0, batch_norm=False, dropout=0)
    out = model(cr.tensor(np.zeros((2, 3, 32, 32), np.float32)))
    assert out.shape == (2, 10)
    assert not any(isinstance(m, (cr.nn.BatchNorm2d, cr.nn.Dropout)) for m in model)
    assert model[-1].in_features == 16 * 4 * 4
    tiny = cnn((1, 2, 2), 3, channels=(4, 4))  # the second block has no room to pool
    assert tiny(cr.tensor(np.zeros((2, 1, 2, 2), np.float32))).shape == (2, 3)
    with pytest.raises(ValueError, match=r"input_shape must be \(channels, height, width\)"):
        cnn((784,), 10)
