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
    with pytest.raises(ValueError, match=r"x_test \(2, 2, 3\) and y_test \(3,\) must hold one "):
        datasets.load(str(path))
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="cannot read .* as a .npz data file"):
        datasets.load(str(path))
    with pytest.raises(FileNotFoundError):
        datasets.load(str(tmp_path / "absent.npz"))


def test_npy_renamed_npz_is_rejected(tmp_path):
    path = tmp_path / "single.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(ValueError, match="is not a .npz archive but one .npy array"):
        datasets.load(str(path))
    np.savez(path, x_train=np.array([{}], dtype=object), y_train=np.arange(1),
             x_test=np.zeros(1), y_test=np.arange(1))  # fmt: skip
    with pytest.raises(ValueError, match="cannot read .*holds object data"):
        datasets.load(str(path))  # object arrays would need pickle: refused


@pytest.mark.parametrize("arrays, message", [
    ({"x_test": np.zeros((0, 2), np.float32), "y_test": np.zeros(0, np.int64)},
     "x_test holds no samples; a data file needs at least one test sample"),
    ({"x_train": np.array([["a", "b"]] * 4)}, "x_train holds <U1 data; inputs must be numbers"),
])
def test_npz_contents_are_checked(tmp_path, arrays, message):
    path = tmp_path / "d.npz"
    good = {"x_train": np.ones((4, 2), np.float32), "y_train": np.arange(4),
            "x_test": np.ones((2, 2), np.float32), "y_test": np.arange(2)}
    np.savez(path, **{**good, **arrays})
    with pytest.raises(ValueError, match=f"{path}: {message}"):
        datasets.load(str(path))


def test_names_cost_no_loader_import():
    """Naming data sets (the CLI's help and checks) imports no loader module."""
    import subprocess
    import sys

    code = ("import sys; from chainrule.datasets import catalog; "
            "catalog.canonical_name('Spoken_Digits'); catalog.names(); "
            "print(sorted(m for m in sys.modules if m.startswith(('chainrule.text', "
            "'chainrule.datasets.corpora', 'chainrule.datasets.fashion', 'urllib.request'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_class_names():
    assert datasets.class_names("Fashion_MNIST")[9] == "Ankle boot"
    assert datasets.class_names("spoken-digits")[:2] == ["zero", "one"]
    assert datasets.class_names("cifar10")[0] == "airplane"
    assert datasets.class_names("digits") is None and datasets.class_names("x.npz") is None


def test_long_steps_show_a_bar_only_in_a_terminal(monkeypatch):
    import io
    import sys

    from chainrule.datasets._progress import _steps

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with _steps(3, "reading") as bar:
        assert bar.disable  # a log file or pipe gets no bar
    monkeypatch.setattr(sys, "stderr", Terminal())
    with _steps(3, "reading") as bar:
        assert not bar.disable and bar.delay == 1.0  # short steps draw nothing
