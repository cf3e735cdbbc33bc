"""save_checkpoint / load_checkpoint: exact round trips, resuming, atomicity, bad files."""

import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import LoadError, write_safetensors


def _model():
    return cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))


class _Stateful:
    """Stands in for an optimizer or scheduler: hands out a state and keeps what it is given."""

    def __init__(self, state):
        self.state, self.loaded = state, None

    def state_dict(self):
        return self.state

    def load_state_dict(self, state):
        self.loaded = state


def _assert_identical(actual, expected, where="root"):
    """Equal values of exactly the same types (int keys, tuples, NumPy scalar dtypes)."""
    assert type(actual) is type(expected) or (
        isinstance(expected, dict) and isinstance(actual, dict)), (where, actual, expected)
    if isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, where
        np.testing.assert_array_equal(actual, expected)
    elif isinstance(expected, np.generic):
        assert actual.dtype == expected.dtype and (actual == expected or np.isnan(expected)), where
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for key in expected:
            assert type(next(k for k in actual if k == key)) is type(key), (where, key)
            _assert_identical(actual[key], expected[key], f"{where}/{key}")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_identical(a, e, f"{where}/{i}")
    elif isinstance(expected, float) and np.isnan(expected):
        assert np.isnan(actual), where
    else:
        assert actual == expected, where


OPTIMIZER_STATE = {
    "state": {
        0: {"step": 3, "exp_avg": np.full((4, 3), 0.1, np.float32),
            "exp_avg_sq": np.full((4, 3), 0.01, np.float32), "max_lr": np.float32(0.5)},
        3: {"step": 3, "exp_avg": np.zeros(2, np.float32), "bias_correction": np.float64(0.3)},
    },
    "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
                      "amsgrad": False, "params": [0, 1, 2, 3]}],
}
SCHEDULER_STATE = {"last_epoch": 7, "base_lrs": [0.1], "best": float("inf"),
                   "_last_lr": [0.0125], "milestones": None}
EXTRA = {
    "history": {"loss": [2.3, 1.1, float("nan")], "val_accuracy": [0.5, 0.75, 0.875]},
    "loader_rng": np.random.default_rng(12345).bit_generator.state,  # ints above 2**64
    "by_index": {0: "a", -1: "b", (1, 2): "tuple key", 2.5: "float key", None: "none key"},
    "pair": (1, "two", [3.0]),
    "looks_like_a_marker": {"__array__": "not an array"},
    "a/b": np.array([1, 2], np.int16),
    "a": {"b": np.array([3], np.int16)},  # the same path spelled with nesting
    "scalars": [np.float32(1.5), np.int64(-3), np.bool_(True)],
    "empty": [{}, [], ()],
}


def test_every_part_round_trips_exactly(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model = _model()
    optimizer, scheduler = _Stateful(OPTIMIZER_STATE), _Stateful(SCHEDULER_STATE)
    cr.save_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler, epoch=5,
                       extra=EXTRA)
    restored_model, restored_opt, restored_sched = _model(), _Stateful(None), _Stateful(None)
    result = cr.load_checkpoint(path, model=restored_model, optimizer=restored_opt,
                                scheduler=restored_sched)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(restored_model.state_dict()[name], value)
    _assert_identical(restored_opt.loaded, OPTIMIZER_STATE)
    _assert_identical(restored_sched.loaded, SCHEDULER_STATE)
    assert set(result) == {"epoch", "extra", "rng_state"} and result["epoch"] == 5
    _assert_identical(result["extra"], EXTRA)
    assert result["extra"]["loader_rng"]["state"]["state"] > 2**64


def test_arrays_are_stored_as_tensors_named_by_their_path(tmp_path):
    import safetensors.numpy

    path = tmp_path / "ckpt.safetensors"
    cr.save_checkpoint(path, model=_model(), optimizer=_Stateful(OPTIMIZER_STATE), extra=EXTRA)
    names = set(safetensors.numpy.load_file(path))
    assert {"model/0.weight", "model/2.bias", "optimizer/state/0/exp_avg",
            "optimizer/state/3/bias_correction", "extra/a/b", "extra/a/b#"} <= names


def test_global_random_stream_resumes(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.manual_seed(3)
    cr.random.default_generator().random(5)
    cr.save_checkpoint(path, model=_model())
    expected = cr.random.default_generator().random(5)
    cr.manual_seed(99)
    result = cr.load_checkpoint(path, model=_model())
    np.testing.assert_array_equal(cr.random.default_generator().random(5), expected)
    assert result["rng_state"]["bit_generator"] == "PCG64"


def _train(model, optimizer, scheduler, steps, seed=0):
    data = np.random.default_rng(seed).standard_normal((steps, 8, 3)).astype(np.float32)
    for x in data:
        optimizer.zero_grad()
        (model(cr.tensor(x)) ** 2).mean().backward()
        optimizer.step()
        scheduler.step()


def _with_dropout():
    return cr.nn.Sequential(cr.nn.Linear(3, 16), cr.nn.ReLU(), cr.nn.Dropout(0.3),
                            cr.nn.Linear(16, 2))


def test_resuming_from_a_checkpoint_is_bitwise_identical(tmp_path):
    path = tmp_path / "ckpt.safetensors"

    def build():
        model = _with_dropout()
        optimizer = cr.optim.Adam(model.parameters(), lr=0.01)
        return model, optimizer, cr.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    cr.manual_seed(0)
    model, optimizer, scheduler = build()
    _train(model, optimizer, scheduler, 3, seed=1)
    cr.save_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler, epoch=1)
    _train(model, optimizer, scheduler, 3, seed=2)  # dropout draws from the global generator

    cr.manual_seed(123)
    resumed, resumed_opt, resumed_sched = build()
    assert cr.load_checkpoint(path, model=resumed, optimizer=resumed_opt,
                              scheduler=resumed_sched)["epoch"] == 1
    _train(resumed, resumed_opt, resumed_sched, 3, seed=2)
    for name, value in model.state_dict().items():
        assert resumed.state_dict()[name].dtype == np.float32
        np.testing.assert_array_equal(resumed.state_dict()[name], value, err_msg=name)
    assert resumed_sched.get_last_lr() == scheduler.get_last_lr()


def test_missing_optimizer_state_is_an_error(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.save_checkpoint(path, model=_model())
    with pytest.raises(LoadError, match="ckpt.safetensors: the checkpoint holds no optimizer"):
        cr.load_checkpoint(path, model=_model(), optimizer=_Stateful(None))


def test_optimizer_state_that_does_not_fit(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model = _model()
    cr.save_checkpoint(path, model=model, optimizer=cr.optim.SGD(model.parameters(), lr=0.1))
    other = cr.optim.SGD([*model.parameters()][:2], lr=0.1)
    with pytest.raises(LoadError, match="the optimizer state does not fit SGD"):
        cr.load_checkpoint(path, model=_model(), optimizer=other)


def test_model_that_does_not_fit(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.save_checkpoint(path, model=_model())
    with pytest.raises(LoadError, match=r"does not fit Sequential.*0.weight.*\(4, 3\)"):
        cr.load_checkpoint(path, model=cr.nn.Sequential(cr.nn.Linear(5, 4), cr.nn.Tanh(),
                                                         cr.nn.Linear(4, 2)))


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "state.safetensors"
    cr.save_state(_model(), path)
    with pytest.raises(LoadError, match="holds a chainrule state, not a checkpoint"):
        cr.load_checkpoint(path, model=_model())


def test_unsupported_value_names_its_path_and_keeps_the_old_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.save_checkpoint(path, model=_model(), epoch=1)
    with pytest.raises(TypeError, match="extra/callbacks/0 is a function"):
        cr.save_checkpoint(path, model=_model(), epoch=2, extra={"callbacks": [lambda: None]})
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    assert cr.load_checkpoint(path, model=_model())["epoch"] == 1


PARTS = {"model": {}, "optimizer": None, "scheduler": None, "epoch": 0, "extra": None,
         "rng_state": cr.get_rng_state()}
BAD_TREES = {
    "missing tensor": ({**PARTS, "extra": {"__array__": "nowhere"}}, {}, "missing tensor"),
    "unreferenced tensor": (PARTS, {"stray": np.zeros(2)}, r"\['stray'\] are not referenced"),
    "missing parts": ({"model": {}}, {}, "structure is not"),
    "no structure": (None, {}, "structure is not"),
    "model not a dict": ({**PARTS, "model": [1]}, {}, "structure is not"),
    "scalar marker on an array": ({**PARTS, "extra": {"__scalar__": "x"}}, {"x": np.zeros(2)},
                                  "missing tensor"),
    "bad dict pairs": ({**PARTS, "extra": {"__dict__": [[1, 2, 3]]}}, {}, "not \\[key, value\\]"),
    "unhashable key": ({**PARTS, "extra": {"__dict__": [[[1], 2]]}}, {}, "invalid dict key"),
    "bad generator state": ({**PARTS, "rng_state": {"bit_generator": "PCG64"}}, {},
                            "random-generator state is invalid"),
}


@pytest.mark.parametrize("case", list(BAD_TREES))
def test_corrupted_structure_raises_load_error(tmp_path, case):
    tree, tensors, message = BAD_TREES[case]
    path = tmp_path / "bad.safetensors"
    write_safetensors(path, tensors, kind="checkpoint", tree=tree)
    with pytest.raises(LoadError, match=message) as info:
        cr.load_checkpoint(path, model=cr.nn.Identity())
    assert str(path) in str(info.value)


@pytest.mark.parametrize("depth, message", [(600, "nested too deeply"),
                                             (100_000, "not valid JSON")])
def test_too_deep_structure_raises_load_error(tmp_path, depth, message):
    info = ('{"format_version": 1, "kind": "checkpoint", "dtypes": {}, "tree": '
            + "[" * depth + "]" * depth + "}")
    header = json.dumps({"__metadata__": {"chainrule": info}}).encode()
    path = tmp_path / "deep.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(LoadError, match=f"deep.safetensors: .*{message}"):
        cr.load_checkpoint(path, model=cr.nn.Identity())


_SAVE_FOREVER = textwrap.dedent("""
    import sys
    import numpy as np
    import chainrule as cr

    model = cr.nn.Linear(2048, 1024, bias=False)  # 8 MiB of weights: a write that takes a while
    weights = [np.zeros((1024, 2048), np.float32), np.ones((1024, 2048), np.float32)]
    epoch = 0
    while True:
        model.weight.data = weights[epoch % 2]
        cr.save_checkpoint(sys.argv[1], model=model, epoch=epoch)
        epoch += 1
""")


def test_a_process_killed_while_saving_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    root = os.path.dirname(os.path.dirname(cr.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get(
        "PYTHONPATH")]))}
    child = subprocess.Popen([sys.executable, "-c", _SAVE_FOREVER, str(path)], env=env)
    deadline = time.monotonic() + 60
    try:
        # Kill only while a later save is under way: a complete checkpoint exists and the
        # temporary file of the next one is being written.
        while not (path.exists() and any(n.endswith(".tmp") for n in os.listdir(tmp_path))):
            assert child.poll() is None, "the saving process died on its own"
            assert time.monotonic() < deadline, "no checkpoint was written in 60 s"
            time.sleep(0.001)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert leftovers, "the kill did not land during a save"
    model = cr.nn.Linear(2048, 1024, bias=False)
    epoch = cr.load_checkpoint(path, model=model)["epoch"]
    np.testing.assert_array_equal(model.weight.data, epoch % 2)  # a whole, consistent save
