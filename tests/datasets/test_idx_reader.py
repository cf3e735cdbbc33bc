"""read_idx: gzip and raw files, dtypes, and clear errors on corrupt or hostile files."""

import gzip
import os
import struct

import numpy as np
import pytest

from chainrule.datasets import read_idx


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_round_trip(tmp_path, write_idx, gz, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    out = read_idx(write_idx(tmp_path / "a.idx", array, gz=gz))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)
    out[0, 0, 0] = 1  # a writable array, not a view of the file's bytes


def test_bad_magic(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"\x00\x01\x08\x01" + b"\0" * 8)
    with pytest.raises(ValueError, match=r"not an IDX file: magic number 00010801"):
        read_idx(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"magic number \(empty\)"):
        read_idx(path)
    path.write_bytes(b"\x00\x00\x07\x01" + b"\0" * 8)
    with pytest.raises(ValueError, match="type code"):
        read_idx(path)


def test_truncated_header_and_payload(tmp_path, write_idx):
    path = tmp_path / "x"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">I", 5))
    with pytest.raises(ValueError, match=r"truncated IDX header \(3 dimensions"):
        read_idx(path)
    data = write_idx(tmp_path / "ok", np.zeros((4, 5), np.uint8), gz=False).read_bytes()
    path.write_bytes(data[:-3])
    with pytest.raises(ValueError, match=r"shape \(4, 5\) \(20 bytes of uint8\).*17 bytes, not 20"):
        read_idx(path)
    path.write_bytes(data + b"\0")
    with pytest.raises(ValueError, match="more than 20 bytes"):
        read_idx(path)


def test_huge_claimed_shape_allocates_nothing(tmp_path):
    path = tmp_path / "hostile.gz"
    header = b"\x00\x00\x0e\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1)
    path.write_bytes(gzip.compress(header + b"\0" * 64))
    with pytest.raises(ValueError, match="64 bytes, not"):
        read_idx(path)


def test_corrupt_gzip(tmp_path, write_idx):
    good = write_idx(tmp_path / "a.gz", np.zeros((100, 100), np.uint8)).read_bytes()
    path = tmp_path / "b.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="corrupt gzip"):
        read_idx(path)


def test_corrupt_deflate_data_is_a_value_error_not_zlib_error(tmp_path, write_idx):
    rng = np.random.default_rng(0)
    raw = bytearray(write_idx(tmp_path / "a.gz", rng.integers(0, 9, (50, 50), np.uint8))
                    .read_bytes())
    raw[20:40] = b"\xff" * 20  # inside the deflate stream: zlib reports an invalid code
    path = tmp_path / "b.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="b.gz: corrupt gzip data"):
        read_idx(path)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    with pytest.raises(ValueError, match="is a FIFO"):
        read_idx(path)
