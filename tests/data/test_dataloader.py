"""DataLoader: batching, dtypes, shuffling by seed, drop_last, resumable state, errors."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, TensorDataset


def _xy(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return x, y


def _labels(loader):
    return [yb.data.tolist() for _, yb in loader]


def test_batches_in_order_without_shuffle():
    x, y = _xy(10)
    loader = DataLoader((x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0].data for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), y)
    xb, yb = batches[0]
    assert isinstance(xb, cr.Tensor) and not xb.requires_grad and xb.grad_fn is None
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    assert np.shares_memory(xb.data, x)  # contiguous slices are views, not copies


def test_dtypes_are_kept_and_python_lists_follow_tensor_rules():
    x64 = np.ones((4, 2), dtype=np.float64)
    y32 = np.arange(4, dtype=np.int32)
    xb, yb = next(iter(DataLoader((x64, y32), batch_size=2)))
    assert xb.dtype == np.float64 and yb.dtype == np.int32
    xb, yb = next(iter(DataLoader(([[1.0], [2.0]], [0, 1]), batch_size=2)))
    assert xb.dtype == np.float32 and yb.dtype == np.int64


def test_single_array_gives_one_tuples():
    (xb,) = next(iter(DataLoader(np.arange(5.0, dtype=np.float32), batch_size=5)))
    assert xb.data.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("n", "size", "drop", "expected"), [
    (10, 4, False, [4, 4, 2]), (10, 4, True, [4, 4]), (8, 4, True, [4, 4]), (3, 4, True, []),
    (3, 4, False, [3]),
])  # fmt: skip
def test_drop_last(n, size, drop, expected):
    loader = DataLoader(_xy(n), batch_size=size, drop_last=drop, shuffle=True, seed=0)
    assert [len(b[1]) for b in loader] == expected
    assert len(loader) == len(expected)


def test_shuffle_is_a_new_permutation_each_epoch_and_seeded():
    x, y = _xy(50)
    loader = DataLoader((x, y), batch_size=8, shuffle=True, seed=3)
    first = np.concatenate([yb.data for _, yb in loader])
    second = np.concatenate([yb.data for _, yb in loader])
    assert sorted(first.tolist()) == list(range(50)) == sorted(second.tolist())
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, y)
    for xb, yb in DataLoader((x, y), batch_size=8, shuffle=True, seed=3):  # rows stay paired
        np.testing.assert_array_equal(xb.data, x[yb.data])
    again = DataLoader((x, y), batch_size=8, shuffle=True, seed=3)
    assert _labels(again) == [b.tolist() for b in np.array_split(first, [8, 16, 24, 32, 40, 48])]
    assert _labels(DataLoader((x, y), batch_size=8, shuffle=True, seed=4)) != _labels(again)


def test_default_generator_follows_manual_seed():
    data = _xy(30)
    cr.manual_seed(7)
    a = _labels(DataLoader(data, batch_size=5, shuffle=True))
    b = _labels(DataLoader(data, batch_size=5, shuffle=True))
    cr.manual_seed(7)
    assert _labels(DataLoader(data, batch_size=5, shuffle=True)) == a
    assert a != b  # two loaders in one run draw different seeds


def test_explicit_generator_is_shared():
    gen = np.random.default_rng(11)
    loader = DataLoader(_xy(20), batch_size=20, shuffle=True, generator=gen)
    ((_, yb),) = list(loader)
    np.testing.assert_array_equal(yb.data, np.random.default_rng(11).permutation(20))
    assert loader.generator is gen


def test_state_round_trip_resumes_mid_epoch():
    data = _xy(23)
    loader = DataLoader(data, batch_size=4, shuffle=True, seed=5)
    list(loader)  # one full epoch first
    it = iter(loader)
    seen = [next(it)[1].data.tolist() for _ in range(3)]
    state = json.loads(json.dumps(loader.state_dict()))  # JSON-able, big ints included
    assert state["batches_done"] == 3
    rest = [yb.data.tolist() for _, yb in it]
    next_epoch = _labels(loader)

    resumed = DataLoader(data, batch_size=4, shuffle=True, seed=99)
    resumed.load_state_dict(state)
    assert resumed.state_dict() == state  # unchanged until it is iterated
    assert _labels(resumed) == rest
    assert _labels(resumed) == next_epoch
    assert len(seen) + len(rest) == len(loader)


def test_state_between_epochs_and_without_shuffle():
    data = _xy(10)
    loader = DataLoader(data, batch_size=3, shuffle=True, seed=1)
    list(loader)
    state = loader.state_dict()
    assert state["batches_done"] == 0
    other = DataLoader(data, batch_size=3, shuffle=True, seed=2)
    other.load_state_dict(state)
    assert _labels(other) == _labels(loader)

    plain = DataLoader(data, batch_size=3)
    it = iter(plain)
    next(it)
    restored = DataLoader(data, batch_size=3)
    restored.load_state_dict(plain.state_dict())
    assert _labels(restored) == [[3, 4, 5], [6, 7, 8], [9]]


class _PerSample(Dataset):
    """A dataset that only knows single samples (no get_batch of its own)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def test_per_sample_dataset_batches_like_arrays():
    x, y = _xy(11)
    a = DataLoader(_PerSample(x, y), batch_size=4, shuffle=True, seed=2)
    b = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=2)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa.data, xb.data)
        np.testing.assert_array_equal(ya.data, yb.data)
        assert xa.dtype == np.float32 and ya.dtype == np.int64


def test_errors_are_clear():
    x, y = _xy(10)
    with pytest.raises(ValueError, match=r"DataLoader.*same number of samples.*\(10, 3\).*\(9,\)"):
        DataLoader((x, y[:9]))
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        DataLoader((x, y), batch_size=0)
    for bad in (2.5, True, "8"):
        with pytest.raises(TypeError, match="batch_size must be an int"):
            DataLoader((x, y), batch_size=bad)
    with pytest.raises(TypeError, match="Dataset or a tuple of arrays"):
        DataLoader({"x": x})
    with pytest.raises(ValueError, match="seed or generator, not both"):
        DataLoader((x, y), seed=1, generator=np.random.default_rng(1))
    with pytest.raises(ValueError, match="at least one array"):
        DataLoader(())
    with pytest.raises(ValueError, match="scalar"):
        DataLoader((np.float32(1.0),))


def test_load_state_dict_rejects_bad_state():
    loader = DataLoader(_xy(10), batch_size=3, shuffle=True, seed=0)
    good = loader.state_dict()
    with pytest.raises(ValueError, match="expected keys"):
        loader.load_state_dict({"generator": good["generator"]})
    with pytest.raises(ValueError, match=r"batches_done must be an int in \[0, 4\], got 5"):
        loader.load_state_dict({**good, "batches_done": 5})
    mt = np.random.Generator(np.random.MT19937(0)).bit_generator.state
    with pytest.raises(ValueError, match="'MT19937'.*'PCG64'"):
        loader.load_state_dict({"generator": mt, "batches_done": 0})
    broken = {**good, "generator": {"bit_generator": "PCG64", "state": {}}}
    with pytest.raises(ValueError, match="bad generator state"):
        loader.load_state_dict(broken)
