"""Each built-in model trained a few steps on each device (the ``device`` fixture) takes the
same steps as on the CPU; a model saved from a device loads back on the host, equal."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend

_rng = np.random.default_rng(0)


def _images(*shape):
    return _rng.standard_normal(shape).astype(np.float32)

# (name, input_shape, num_classes, builder options, inputs). Without dropout: a device draws its
# masks from its own stream (tests/devices/test_device_api.py checks those), so only models
# without it take the CPU's steps exactly.
MODELS = [
    ("mlp", (6,), 3, {"dropout": 0.0}, _images(8, 6)),
    ("cnn", (1, 12, 12), 3, {"dropout": 0.0}, _images(4, 1, 12, 12)),
    ("speech-cnn", (1, 32, 63), 3, {"dropout": 0.0}, _images(2, 1, 32, 63)),
    ("bow", (7,), 3, {"vocab_size": 20, "dropout": 0.0}, _rng.integers(0, 20, (6, 7))),
    ("lstm", (7,), 3, {"vocab_size": 20, "dropout": 0.0}, _rng.integers(0, 20, (6, 7))),
    ("transformer", (7,), 3, {"vocab_size": 20, "dropout": 0.0}, _rng.integers(0, 20, (6, 7))),
]


def _train(name, shape, classes, options, x, device, steps=3):
    cr.manual_seed(0)
    model = cr.models.build(name, shape, classes, **options)
    labels = np.arange(len(x)) % classes
    history = cr.fit(model, (x, labels), loss="cross_entropy", optimizer="adam",
                     epochs=steps, batch_size=len(x), shuffle=False, progress=False,
                     device=device)
    return model, history.history["loss"]


@pytest.mark.parametrize("name, shape, classes, options, x", MODELS, ids=[m[0] for m in MODELS])
def test_training_on_device_follows_the_cpu(name, shape, classes, options, x, device):
    _, expected = _train(name, shape, classes, options, x, "cpu")
    model, losses = _train(name, shape, classes, options, x, device)
    assert all(p.device == device for p in model.parameters())
    np.testing.assert_allclose(losses, expected, rtol=1e-4)
    predictions = cr.predict(model, x)
    assert type(predictions) is np.ndarray and predictions.shape == (len(x), classes)


def test_save_from_device_loads_on_the_host(device, tmp_path):
    cr.manual_seed(0)
    model = cr.models.build("cnn", (1, 12, 12), 3).to(device)
    model(cr.tensor(np.ones((2, 1, 12, 12), np.float32), device=device))  # running statistics
    cr.save(model, tmp_path / "model.safetensors")
    loaded = cr.load_model(tmp_path / "model.safetensors")
    assert all(p.device == "cpu" for p in loaded.parameters())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], backend.to_host(value))
    loaded.to(device).load_state_dict(model.state_dict())  # device to device, in place
    x = np.linspace(-1, 1, 2 * 144, dtype=np.float32).reshape(2, 1, 12, 12)
    model.eval()
    loaded.eval()
    np.testing.assert_array_equal(loaded(cr.tensor(x, device=device)).numpy(),
                                  model(cr.tensor(x, device=device)).numpy())


def test_checkpoint_from_device_resumes(device, tmp_path):
    cr.manual_seed(0)
    model = cr.nn.Linear(3, 2).to(device)
    optimizer = cr.optim.Adam(model.parameters())
    model(cr.tensor(np.ones((4, 3), np.float32), device=device)).sum().backward()
    optimizer.step()
    cr.save_checkpoint(tmp_path / "c.ckpt", model=model, optimizer=optimizer)
    twin = cr.nn.Linear(3, 2).to(device)
    twin_optimizer = cr.optim.Adam(twin.parameters())
    cr.load_checkpoint(tmp_path / "c.ckpt", model=twin, optimizer=twin_optimizer)
    state = twin_optimizer.state[twin.weight]
    assert backend.device_of(state["exp_avg"]) == device
    np.testing.assert_array_equal(backend.to_host(state["exp_avg"]),
                                  backend.to_host(optimizer.state[model.weight]["exp_avg"]))
