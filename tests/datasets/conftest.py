"""Small hand-made data files for the loader tests."""

import gzip
import struct

import numpy as np
import pytest

_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, _CODES[array.dtype], array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.fixture
def write_idx():
    """``write_idx(path, array, gz=True)`` writes an IDX file (gzip-compressed by default)."""

    def write(path, array, gz=True):
        data = _idx_bytes(np.asarray(array))
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    return write


@pytest.fixture
def fake_fashion(tmp_path, write_idx):
    """A folder with the four Fashion-MNIST files holding 6 train and 4 test images."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.array([0, 9, 3, 3, 1, 5], dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([2, 2, 8, 0], dtype=np.uint8),
    }
    folder = tmp_path / "fake-fashion"
    folder.mkdir()
    for name, array in arrays.items():
        write_idx(folder / f"{name}.gz", array)
    return folder, arrays
