"""load_cifar10: the binary record format, on small files made here."""

import numpy as np
import pytest

from chainrule.datasets import load_cifar10

_NAMES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


@pytest.fixture
def cifar(tmp_path):
    """Six files of 2 records each; returns the folder and the (labels, pixels) written."""
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rng = np.random.default_rng(0)
    written = {}
    for i, name in enumerate(_NAMES):
        labels = np.array([i, 9 - i], dtype=np.uint8)
        pixels = rng.integers(0, 256, (2, 3072), dtype=np.uint8)
        np.concatenate([labels[:, None], pixels], axis=1).tofile(folder / name)
        written[name] = (labels, pixels)
    return folder, written


def test_loads_records_in_channel_first_order(cifar):
    folder, written = cifar
    (x_train, y_train), (x_test, y_test) = load_cifar10(folder)
    assert x_train.shape == (10, 3, 32, 32) and x_test.shape == (2, 3, 32, 32)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert y_train.tolist() == [0, 9, 1, 8, 2, 7, 3, 6, 4, 5] and y_test.tolist() == [5, 4]
    _, pixels = written["data_batch_2.bin"]
    red = pixels[1, :1024].reshape(32, 32)  # the first 1024 bytes of a record are the red plane
    np.testing.assert_array_equal(x_train[3, 0] * 255, red)
    np.testing.assert_array_equal(x_test[0].reshape(-1) * 255, written["test_batch.bin"][1][0])
    (x_flat, _), _ = load_cifar10(folder.parent, flatten=True)  # the parent folder works too
    assert x_flat.shape == (10, 3072)


def test_bad_files(cifar):
    folder, _ = cifar
    (folder / "data_batch_3.bin").write_bytes(b"\0" * 3072)
    with pytest.raises(ValueError, match=r"3072 bytes, not a whole number of 3073-byte records"):
        load_cifar10(folder)
    (folder / "data_batch_3.bin").write_bytes(bytes([10]) + b"\0" * 3072)
    with pytest.raises(ValueError, match="labels above 9"):
        load_cifar10(folder)
    (folder / "test_batch.bin").unlink()
    with pytest.raises(FileNotFoundError, match="lacks test_batch.bin"):
        load_cifar10(folder)


def test_found_in_the_data_folders_like_fashion_mnist(cifar, tmp_path, monkeypatch):
    folder, _ = cifar
    data = tmp_path / "data"
    (data / "cifar10").mkdir(parents=True)
    folder.rename(data / "cifar10" / folder.name)
    monkeypatch.setenv("CHAINRULE_DATA", str(data))
    (x_train, _), _ = load_cifar10()
    assert x_train.shape == (10, 3, 32, 32)
    monkeypatch.delenv("CHAINRULE_DATA")
    (x_train, _), _ = load_cifar10(data_dir=data)
    assert x_train.shape == (10, 3, 32, 32)


def test_absent_files_say_where_they_were_looked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError) as error:
        load_cifar10()
    message = str(error.value)
    assert str(tmp_path / "data" / "cifar10") in message
    assert str(tmp_path / "home" / ".cache" / "chainrule" / "cifar10") in message
    assert "cifar-10-binary.tar.gz" in message and "https://" in message
