"""cr.compile: replayed steps are bitwise the eager steps (model zoo, partial last batch,
optimizers, mode changes), and what cannot be replayed runs eagerly after a warning naming it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import models

OPTIMIZERS = {
    "sgd": lambda p: cr.optim.SGD(p, lr=0.1),
    "sgd-momentum": lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3),
    "adam": lambda p: cr.optim.Adam(p, lr=0.01),
    "adamw": lambda p: cr.optim.AdamW(p, lr=0.01),
}


def _batches(shape, tokens: bool, steps: int = 7, batch: int = 6, classes: int = 3):
    """Batches of ``batch`` rows with a short (partial) batch every third step."""
    rng = np.random.default_rng(1)
    for i in range(steps):
        n = batch if i % 3 != 2 else batch // 2
        x = rng.integers(1, 20, (n, *shape)) if tokens else rng.normal(
            size=(n, *shape)).astype(np.float32)
        yield cr.tensor(x), cr.tensor(rng.integers(0, classes, n))


def _train(build, optimizer: str, compiled: bool, shape, tokens=False, switch_to_eval=None):
    """Losses, predictions and final parameters of a few steps, eager or compiled."""
    cr.manual_seed(0)
    model = build()
    opt = OPTIMIZERS[optimizer](model.parameters())

    def train_step(x, y):
        pred = model(x)
        loss = cr.nn.functional.cross_entropy(pred, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss, pred

    step = cr.compile(train_step) if compiled else train_step
    outputs = []
    for i, (x, y) in enumerate(_batches(shape, tokens)):
        if i == switch_to_eval:
            model.eval()
        loss, pred = step(x, y)
        outputs += [loss.data.copy(), pred.data.copy()]
    return outputs, [p.data.copy() for p in model.parameters()], step, model


def _assert_bitwise(eager, compiled):
    for a, b in zip(eager[0] + eager[1], compiled[0] + compiled[1]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b, strict=True)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_mlp_replays_bitwise_with_every_optimizer(optimizer):
    def build():
        return models.mlp((5,), 3, layers=(16, 8), activation="tanh")
    eager = _train(build, optimizer, False, (5,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a replayable step warns about nothing
        compiled = _train(build, optimizer, True, (5,))
    assert compiled[2].replayable
    _assert_bitwise(eager, compiled)
    kernels = {label.split(" #")[0] for plan in compiled[2].plans for label in plan.labels
               if "(buffer kernel)" in label}
    assert kernels == {"Linear", "Tanh", "CrossEntropy"}  # the hot ops' kernels ran


@pytest.mark.parametrize("name, shape, options", [
    ("mlp", (5,), {"dropout": 0.3}),  # fresh masks each step, from the global generator
    ("cnn", (1, 8, 8), {"channels": (4,), "dropout": 0.2}),  # batch norm, dropout, pooling
    ("speech-cnn", (1, 32, 63), {"channels": (2,), "hidden": 8}),
])
def test_models_with_dropout_and_batch_norm_replay_bitwise(name, shape, options):
    def build():
        return models.build(name, shape, 3, **options)
    eager = _train(build, "adam", False, shape)
    compiled = _train(build, "adam", True, shape)
    assert compiled[2].replayable
    _assert_bitwise(eager, compiled)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_statistics_and_counter_match_eager_mode(momentum):
    def build():
        return cr.nn.Sequential(cr.nn.Linear(5, 4), cr.nn.BatchNorm1d(4, momentum=momentum),
                                cr.nn.ReLU(), cr.nn.Linear(4, 3))
    eager = _train(build, "sgd", False, (5,))
    if momentum is None:  # the cumulative average's momentum changes every step
        with pytest.warns(RuntimeWarning, match="num_batches_tracked' in Python"):
            compiled = _train(build, "sgd", True, (5,))
    else:
        compiled = _train(build, "sgd", True, (5,))
    assert compiled[2].replayable is (momentum is not None)
    _assert_bitwise(eager, compiled)
    buffers = [dict(run[3].named_buffers()) for run in (eager, compiled)]
    assert int(buffers[1]["1.num_batches_tracked"]) == 7
    for name in buffers[0]:
        np.testing.assert_array_equal(buffers[0][name], buffers[1][name], strict=True)


@pytest.mark.parametrize("name, shape, tokens, options, reason", [
    ("mlp", (5,), False, {"dropout": 1.0}, "Mul: input 1 is a tensor made outside any op"),
    ("lstm", (7,), True, {"vocab_size": 20}, "EmbeddingLookup: its parameter 'indices'"),
    ("transformer", (7,), True, {"vocab_size": 20}, "EmbeddingLookup"),
])
def test_steps_that_cannot_replay_run_eagerly_after_one_warning(name, shape, tokens, options,
                                                                reason):
    def build():
        return models.build(name, shape, 3, **options)
    eager = _train(build, "adam", False, shape, tokens)
    with pytest.warns(RuntimeWarning, match=reason) as caught:
        compiled = _train(build, "adam", True, shape, tokens)
    assert len(caught) == 1 and not compiled[2].replayable
    _assert_bitwise(eager, compiled)


def test_a_mode_change_captures_again():
    def build():
        return models.mlp((5,), 3, layers=(8,))
    eager = _train(build, "sgd", False, (5,), switch_to_eval=4)
    compiled = _train(build, "sgd", True, (5,), switch_to_eval=4)
    _assert_bitwise(eager, compiled)


def test_gradients_accumulate_as_in_eager_mode_without_zero_grad():
    results = []
    for compiled in (False, True):
        cr.manual_seed(0)
        layer = cr.nn.Linear(4, 2)

        def step(x, layer=layer):
            (layer(x) ** 2).sum().backward()
        run = cr.compile(step) if compiled else step
        for x, _ in _batches((4,), False, steps=5):
            run(x)
        results.append([layer.weight.grad.copy(), layer.bias.grad.copy()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_a_step_returning_a_float_runs_eagerly():
    layer = cr.nn.Linear(2, 1)

    def step(x):
        loss = layer(x).sum()
        loss.backward()
        return loss.item()
    compiled = cr.compile(step)
    x = cr.tensor(np.ones((3, 2), np.float32))
    with pytest.warns(RuntimeWarning, match="returns a float"):
        values = [compiled(x) for _ in range(4)]
    assert not compiled.replayable and values == sorted(values)


def test_fit_with_compile_matches_eager_fit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)).astype(np.float32)  # 50 = 3 batches of 16 and one of 2
    y = (x[:, 0] > 0).astype(np.int64)
    results = []
    for compile_step in (False, True):
        cr.manual_seed(0)
        model = models.mlp((4,), 2, layers=(8,))
        history = cr.fit(model, (x, y), loss="cross_entropy", optimizer="adam", epochs=3,
                         batch_size=16, seed=0, progress=False, compile=compile_step)
        results.append((history.history["loss"], [p.data.copy() for p in model.parameters()]))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_a_plan_keeps_nothing_of_the_captured_calls_alive():
    import gc
    import types

    from chainrule.compile.plan import Plan
    from chainrule.compile.trace import OpRecord, Trace

    model = cr.nn.Sequential(cr.nn.Linear(6, 16), cr.nn.ReLU(), cr.nn.Dropout(0.2),
                             cr.nn.Linear(16, 3))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    def train_step(x, y):
        loss = cr.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss
    step = cr.compile(train_step)
    x, y = cr.tensor(np.ones((4, 6), np.float32)), cr.tensor(np.array([0, 1, 2, 0]))
    for _ in range(3):
        step(x, y)
    assert step.replayable
    seen, stack, reached = {id(step)}, [step], []  # what the compiled step holds, but modules
    while stack:
        for ref in gc.get_referents(stack.pop()):
            module_level = isinstance(ref, (type, types.ModuleType)) or (
                isinstance(ref, dict) and "__builtins__" in ref)
            if id(ref) not in seen and not module_level:
                seen.add(id(ref))
                stack.append(ref)
                reached.append(ref)
    assert any(isinstance(o, Plan) for o in reached)
    assert not [o for o in reached if isinstance(o, (OpRecord, Trace))]


def test_a_regression_step_with_mse_replays_bitwise():
    results = []
    for compiled in (False, True):
        cr.manual_seed(0)
        model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.Tanh(), cr.nn.Linear(16, 1))
        opt = cr.optim.SGD(model.parameters(), lr=0.05)

        def train_step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = cr.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss
        step = cr.compile(train_step) if compiled else train_step
        rng = np.random.default_rng(2)
        losses = []
        for n in (8, 8, 3, 8, 8, 3, 8):
            x = rng.normal(size=(n, 2)).astype(np.float32)
            losses.append(step(cr.tensor(x), cr.tensor(np.sin(x[:, :1]))).data.copy())
        results.append((losses, [p.data.copy() for p in model.parameters()], step))
    for a, b in zip(results[0][0] + results[0][1], results[1][0] + results[1][1]):
        np.testing.assert_array_equal(a, b, strict=True)
    assert any(label.startswith("MSE") and "(buffer kernel)" in label
               for label in results[1][2].plans[0].labels)


def test_a_backward_with_create_graph_runs_eagerly():
    layer = cr.nn.Linear(2, 1)

    def step(x):
        loss = (layer(x) ** 2).sum()
        loss.backward(create_graph=True)
        grad_norm = (layer.weight.grad ** 2).sum()  # a tensor: the gradient recorded its graph
        layer.weight.grad = None
        return grad_norm
    compiled = cr.compile(step)
    x = cr.tensor(np.ones((3, 2), np.float32))
    with pytest.warns(RuntimeWarning, match="create_graph"):
        values = [compiled(x).item() for _ in range(3)]
    assert not compiled.replayable and values[0] == values[1] == values[2]
