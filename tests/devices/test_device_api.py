"""The device API: ``cr.device``, ``tensor(device=)``, ``Tensor.to/cpu/numpy``, the error for
tensors on two devices, ``Module.to``, optimizer state that follows its parameters, device
random streams, ``cr.cuda``. Run on every non-CPU device of the suite (the fake one always)."""

import importlib.util
import subprocess
import sys

import fake_device
import numpy as np
import pytest

import chainrule as cr
from chainrule import backend


@pytest.fixture(params=fake_device.ACCELERATORS)
def accelerator(request):
    return request.param


def test_device_names():
    assert str(cr.device("cuda")) == "cuda:0" and repr(cr.device("cuda:1")) == (
        "device(type='cuda', index=1)")
    assert cr.device("cpu") == "cpu" and cr.device("cuda") == cr.device("cuda", 0)
    assert cr.device("cuda:0") != "cuda:1" and cr.device("cpu") != "cuda"
    assert len({cr.device("cuda"), cr.device("cuda:0")}) == 1
    with pytest.raises(ValueError, match="unknown device type 'tpu'"):
        cr.tensor([1.0], device="tpu")
    with pytest.raises(ValueError, match="cannot read 'cuda:x'"):
        cr.device("cuda:x")


def test_tensor_to_and_back(accelerator):
    x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    y = x.to(accelerator)
    assert y.device == accelerator and x.device == "cpu" and y.requires_grad
    assert x.to("cpu") is x and y.to(accelerator) is y
    assert f"device='{cr.device(accelerator)}'" in repr(y)
    host = y.numpy()
    host[0, 0] = 99.0  # a copy: the device's data does not change
    assert type(host) is np.ndarray and y.numpy()[0, 0] == 1.0
    np.testing.assert_array_equal(y.cpu().data, x.data)
    (y * 3).sum().backward()  # the gradient flows back across the copy
    assert type(x.grad) is np.ndarray
    np.testing.assert_array_equal(x.grad, [[3.0, 3.0]])
    with pytest.raises(TypeError, match="copy it to the host with .numpy"):
        np.asarray(cr.tensor([1.0], device=accelerator))


def test_tensor_keeps_its_dtype_on_the_device(accelerator):
    x = cr.tensor([1, 2], device=accelerator)
    assert x.dtype == np.int64 and cr.tensor([1.0], dtype=np.float64, device=accelerator
                                             ).dtype == np.float64
    assert (x + 1).device == accelerator and (2.5 * cr.tensor([1.0], device=accelerator)
                                              ).dtype == np.float32


def test_mixing_devices_names_both(accelerator):
    a, b = cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0], device=accelerator)
    name = str(cr.device(accelerator))
    for mixed in (lambda: a + b, lambda: b * a, lambda: cr.concatenate([b, a, b]),
                  lambda: cr.where([True, False], b, a)):
        with pytest.raises(RuntimeError, match=f"one device, got tensors on .*{name}.*cpu|"
                                               f"one device, got tensors on cpu.*{name}"):
            mixed()


def test_module_to_moves_parameters_gradients_and_buffers(accelerator):
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.BatchNorm1d(4))
    model(cr.tensor(np.ones((2, 3), np.float32))).sum().backward()
    weight = model[0].weight
    assert model.to(accelerator) is model and model[0].weight is weight
    assert all(p.device == accelerator for p in model.parameters())
    assert all(backend.device_of(p.grad) == accelerator for p in model.parameters())
    assert all(backend.device_of(b) == accelerator for _, b in model.named_buffers())
    assert "running_mean" in dict(model[1].named_buffers())  # still a buffer
    model.to("cpu")
    assert all(type(p.data) is np.ndarray for p in model.parameters())


@pytest.mark.parametrize("make", [lambda ps: cr.optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: cr.optim.Adam(ps, lr=0.1),
                                  lambda ps: cr.optim.RMSprop(ps, lr=0.1, centered=True),
                                  lambda ps: cr.optim.Adagrad(ps, lr=0.1)],
                         ids=["sgd", "adam", "rmsprop", "adagrad"])
def test_optimizer_state_follows_its_parameters(make, accelerator):
    def run(move_at):
        cr.manual_seed(0)
        model = cr.nn.Linear(3, 2)
        optimizer = make(model.parameters())
        x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
        for step in range(3):
            if step == move_at:
                model.to(accelerator)
            device = model.weight.device
            optimizer.zero_grad()
            (model(cr.tensor(x, device=device)) ** 2).mean().backward()
            optimizer.step()
        return model, optimizer

    moved, optimizer = run(move_at=1)
    for state in optimizer.state.values():
        for name, value in state.items():
            if hasattr(value, "shape"):
                assert backend.device_of(value) == accelerator, name
    stayed, _ = run(move_at=None)
    np.testing.assert_allclose(moved.weight.numpy(), stayed.weight.numpy(), rtol=1e-6)


def test_optimizer_made_after_to(accelerator):
    model = cr.nn.Linear(3, 2).to(accelerator)
    optimizer = cr.optim.Adam(model.parameters())
    model(cr.tensor(np.ones((1, 3), np.float32), device=accelerator)).sum().backward()
    optimizer.step()
    assert backend.device_of(optimizer.state[model.weight]["exp_avg"]) == accelerator


def test_dropout_masks_on_the_device_are_seeded(accelerator):
    x = cr.tensor(np.ones((64,), np.float32), device=accelerator)

    def mask():
        return cr.nn.functional.dropout(x, 0.5).numpy()

    cr.manual_seed(3)
    first = mask()
    cr.manual_seed(3)
    np.testing.assert_array_equal(mask(), first)
    assert 0 < np.count_nonzero(first) < 64 and not np.array_equal(mask(), first)
    # An explicit generator draws on the host: the same mask as the CPU's.
    on_cpu = cr.nn.functional.dropout(x.cpu(), 0.5, generator=7).numpy()
    np.testing.assert_array_equal(cr.nn.functional.dropout(x, 0.5, generator=7).numpy(), on_cpu)


def test_init_draws_the_same_weights_on_any_device(accelerator):
    w = cr.nn.Parameter(np.zeros((3, 4), np.float32)).to(accelerator)
    cr.nn.init.normal_(w, generator=5)
    host = cr.nn.Parameter(np.zeros((3, 4), np.float32))
    cr.nn.init.normal_(host, generator=5)
    np.testing.assert_array_equal(w.numpy(), host.numpy())


def test_fit_and_loader_put_batches_on_the_model_device(accelerator):
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    loader = cr.DataLoader((x, y), batch_size=8, device=accelerator)
    assert all(t.device == accelerator for batch in loader for t in batch)
    model = cr.nn.Linear(4, 2)
    history = cr.fit(model, (x, y), loss="cross_entropy", optimizer="sgd", epochs=2,
                     progress=False, device=accelerator, validation_data=(x, y))
    assert model.weight.device == accelerator and len(history.history["val_accuracy"]) == 2
    assert cr.evaluate(model, (x, y), loss="cross_entropy")["loss"] > 0


def test_cuda_without_a_gpu_answers_none():
    assert isinstance(cr.cuda.is_available(), bool)
    assert cr.cuda.device_count() >= 0
    if importlib.util.find_spec("cupy") is None:
        assert not cr.cuda.is_available() and cr.cuda.device_count() == 0
        with pytest.raises(RuntimeError, match=r"pip install chainrule\[cuda\]"):
            cr.tensor([1.0], device="cuda")
        with pytest.raises(RuntimeError, match="needs CuPy"):
            cr.nn.Linear(2, 2).to("cuda")
    cr.cuda.manual_seed(0)  # never raises, GPU or not


def test_explain_a_model_on_a_device_on_the_host(accelerator):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    y = np.array([0, 1, 1, 0])
    on_cpu = cr.explain(model, x, y, loss="cross_entropy").to_dict()
    model.to(accelerator)
    on_device = cr.explain(model, cr.tensor(x, device=accelerator), y,
                           loss="cross_entropy").to_dict()
    assert on_device == on_cpu and model[0].weight.device == accelerator


def test_gradient_monitor_refuses_a_model_on_a_device(accelerator):
    model = cr.nn.Linear(2, 2)
    x, y = np.ones((4, 2), np.float32), np.array([0, 1, 0, 1])
    with pytest.raises(RuntimeError, match="GradientMonitor watches training on the CPU only"):
        cr.fit(model, (x, y), loss="cross_entropy", optimizer="sgd", epochs=1, progress=False,
               callbacks=[cr.explain.GradientMonitor(verbose=False)], device=accelerator)


def test_importing_chainrule_does_not_import_cupy():
    code = "import sys, chainrule; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
