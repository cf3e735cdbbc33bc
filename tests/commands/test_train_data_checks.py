"""``chainrule train`` reads the task, the classes and the vocabulary off the data, bounded by
what the data supports, and every bad file or bad pair is one clear line (issues 17 and 18)."""

import numpy as np
import pytest

import chainrule as cr

from .helpers import results


def _one_line_error(chainrule, *argv) -> str:
    code, out, err = chainrule(*argv)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in out + err, err
    return err


def test_float_targets_train_a_regressor(chainrule, npz, tmp_path):
    """Regression through the command: float targets mean MSE, MAE and R²."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=400)).astype(np.float32)
    path = npz("regression.npz", x_train=x[:300], y_train=y[:300], x_test=x[300:],
               y_test=y[300:])
    code, out, err = chainrule("train", "--data", path, "--epochs", "30", "--quiet", "--out",
                               tmp_path / "run")
    assert code == 0, err
    assert "mlp regressor on " in out
    trained = results(out)
    assert sorted(trained) == ["loss", "mae", "r2"] and trained["r2"] > 0.9
    model_file = tmp_path / "run" / "model.safetensors"
    code, again, _ = chainrule("evaluate", model_file)
    assert code == 0 and results(again) == trained
    np.save(tmp_path / "x.npy", x[:3])
    code, predicted, _ = chainrule("predict", model_file, tmp_path / "x.npy")
    values = [float(line) for line in predicted.splitlines()]
    np.testing.assert_allclose(values, y[:3], atol=0.5)
    assert "regressor: --proba applies to classifiers" in _one_line_error(
        chainrule, "predict", model_file, tmp_path / "x.npy", "--proba")
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()[0]
    assert history == ("epoch,loss,mean_absolute_error,r2_score,val_loss,"
                       "val_mean_absolute_error,val_r2_score,lr")


def test_integer_inputs_train_the_default_mlp(chainrule, npz):
    """uint8 pixels with the MLP: before, 'mlp() got an unexpected keyword argument
    vocab_size'."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (80, 6), dtype=np.uint8)
    path = npz(x_train=x[:60], x_test=x[60:])
    code, out, err = chainrule("train", "--data", path, "--epochs", "1", "--quiet")
    assert code == 0, err
    assert "mlp on " in out


@pytest.mark.parametrize("arrays, message", [
    # one label of 10**12: before, "Unable to allocate 29.1 TiB" for the output layer
    ({"y_train": np.r_[np.zeros(59, np.int64), 10**12]},
     "y_train holds the label 1,000,000,000,000 but only 3 distinct labels occur"),
    ({"y_test": np.r_[np.zeros(19, np.int64), -1]}, "y_test holds the label -1; labels number "
                                                     "from 0"),
    ({"y_train": np.array(["cat", "dog"] * 30)},
     "y_train holds text labels ('cat', 'dog', …); labels must be class indices"),
    ({"y_train": np.full(60, np.nan, np.float32)}, "y_train holds nan at index (0,); values "
                                                    "must be finite"),
    ({"x_train": np.full((60, 4), np.inf, np.float32)}, "x_train holds inf at index (0, 0)"),
    ({"x_test": np.zeros((0, 4), np.float32), "y_test": np.zeros(0, np.int64)},
     "x_test holds no samples; a data file needs at least one test sample"),
    ({"x_train": np.zeros((1, 4), np.float32), "y_train": np.zeros(1, np.int64)},
     "1 training sample is too few"),
])
def test_bad_data_files_are_one_line_naming_the_array(chainrule, npz, arrays, message):
    err = _one_line_error(chainrule, "train", "--data", npz(**arrays), "--quiet")
    assert message in err


def test_token_ids_are_bounded_before_the_embedding_is_built(chainrule, npz):
    ids = np.zeros((80, 5), np.int64)
    ids[0, 0] = 10**12  # before: vocab_size = max(x) + 1
    err = _one_line_error(chainrule, "train", "--data", npz(x_train=ids[:60], x_test=ids[60:]),
                          "--model", "bow")
    assert "x_train holds the token id 1,000,000,000,000 but only 2 distinct token ids occur" \
        in err


@pytest.mark.parametrize("argv, message", [
    (["--model", "bow"], "model 'bow' reads token ids (integers), but the inputs are float32"),
    (["--model", "speech-cnn"], "speech_cnn: input_shape (4,) differs from the front end's"),
    (["--model", "cnn"], "cnn: input_shape must be (channels, height, width), got (4,)"),
    (["--model", "char-lm"], "char-lm is a language model: train it with chainrule train-lm"),
    (["--layers", "1000000000"], "--layers 1000000000 makes an MLP of 8,000,000,003 parameters"),
    (["--layers", "100000,100000"], "the limit is 100,000,000"),
])
def test_wrong_model_and_data_pairs_are_one_line(chainrule, npz, argv, message):
    """Before: "cnn() got an unexpected keyword argument 'vocab_size'" and the like."""
    assert message in _one_line_error(chainrule, "train", "--data", npz(), *argv)


def test_text_data_with_an_image_model_is_one_line(chainrule, monkeypatch):
    ids = np.zeros((20, 7), np.int64)
    labels = np.arange(20) % 2
    monkeypatch.setattr(cr.datasets, "load",
                        lambda name, **options: ((ids, labels), (ids[:4], labels[:4])))
    err = _one_line_error(chainrule, "train", "--data", "bbc-news", "--model", "cnn")
    assert "bbc-news holds token ids, which model 'cnn' cannot read; use --model bow" in err


def test_device_option(chainrule, npz):
    """``--device`` trains on that device; one that cannot be used is one line before any
    data is read."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    path = npz("small.npz", x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:])
    for device in ("cpu", "fake"):  # fake: the suite's NumPy-backed test double of a GPU
        code, out, err = chainrule("train", "--data", path, "--epochs", "2", "--quiet",
                                   "--device", device)
        assert code == 0 and "test accuracy" in out, err
    assert "unknown device type 'tpu'" in _one_line_error(chainrule, "train", "--device", "tpu")
    if not cr.cuda.is_available():
        message = _one_line_error(chainrule, "train", "--device", "cuda:7")
        assert "pip install 'chainrule[cuda]'" in message or "CUDA device(s)" in message
