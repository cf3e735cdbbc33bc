"""datasets.load: names, .npz files, options, errors."""

import numpy as np
import pytest

from chainrule import datasets


def test_names_and_normalisation():
    names = datasets.names()
    assert names[:4] == ["digits", "fashion-mnist", "mnist-5k", "cifar10"]
    assert {"bbc-news", "shakespeare", "spoken-digits"} <= set(names)
    (x_a, y_a), _ = datasets.load("Digits", seed=3, flatten=True)
    (x_b, y_b), _ = datasets.load_digits(seed=3, flatten=True)
    np.testing.assert_array_equal(x_a, x_b)
    np.testing.assert_array_equal(y_a, y_b)
    with pytest.raises(ValueError, match="unknown data set 'mnist'.*digits, fashion-mnist"):
        datasets.load("mnist")


def test_split_options_are_ignored_for_official_splits(fake_fashion):
    folder, arrays = fake_fashion
    (_, y_train), _ = datasets.load("fashion_mnist", path=folder, seed=5, test_size=0.5)
    np.testing.assert_array_equal(y_train, arrays["train-labels-idx1-ubyte"])
    with pytest.raises(TypeError):
        datasets.load("fashion-mnist", path=folder, bogus=1)


def test_npz_round_trip_and_errors(tmp_path):
    path = tmp_path / "mine.npz"
    arrays = {
        "x_train": np.ones((5, 2, 3), np.float32), "y_train": np.arange(5),
        "x_test": np.zeros((2, 2, 3), np.float32), "y_test": np.arange(2),
    }  # fmt: skip
    np.savez(path, **arrays)
    (x_train, y_train), (x_test, _) = datasets.load(str(path))
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    assert x_test.shape == (2, 2, 3) and y_train.dtype == arrays["y_train"].dtype
    (x_train, _), _ = datasets.load(str(path), flatten=True, seed=0)
    assert x_train.shape == (5, 6)
    with pytest.raises(TypeError, match=r"\['path'\] do not apply"):
        datasets.load(str(path), path="x")

    np.savez(path, x_train=arrays["x_train"], y_train=arrays["y_train"])
    with pytest.raises(ValueError, match=r"lacks arrays \['x_test', 'y_test'\]"):
        datasets.load(str(path))
    np.savez(path, **{**arrays, "y_test": np.arange(3)})
    with pytest.raises(ValueError, match=r"x_test \(2, 2, 3\) and y_test \(3,\)"):
        datasets.load(str(path))
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="cannot read .* as a .npz data file"):
        datasets.load(str(path))
    with pytest.raises(ValueError, match="cannot read"):
        datasets.load(str(tmp_path / "absent.npz"))


def test_npy_renamed_npz_is_rejected(tmp_path):
    path = tmp_path / "single.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(ValueError, match="single array, not a .npz archive"):
        datasets.load(str(path))
    np.savez(path, x_train=np.array([{}], dtype=object), y_train=np.arange(1),
             x_test=np.zeros(1), y_test=np.arange(1))  # fmt: skip
    with pytest.raises(ValueError, match="cannot read .*allow_pickle"):
        datasets.load(str(path))  # object arrays would need pickle: refused
