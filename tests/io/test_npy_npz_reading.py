"""``read_npy``/``read_npz``: a user's arrays, checked against the file before any allocation;
every bad file is one ``LoadError`` naming the file and the problem."""

import struct
import zipfile

import numpy as np
import pytest

from chainrule.io import LoadError
from chainrule.io.arrays import read_npy, read_npz


def _npy_with_header(header: str) -> bytes:
    padded = header + " " * (-(len(header) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(padded)) + padded.encode("latin-1")


@pytest.mark.parametrize("order", ["C", "F"])
def test_reads_what_numpy_saved(tmp_path, order):
    array = np.asarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4), order=order)
    np.save(tmp_path / "a.npy", array)
    got = read_npy(tmp_path / "a.npy")
    np.testing.assert_array_equal(got, array)
    assert got.dtype == array.dtype and got.flags.writeable


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_reads_every_member_of_an_archive(tmp_path, save):
    arrays = {"x": np.ones((3, 2), np.float32), "y": np.array([0, 2, 1]), "s": np.array(["a"])}
    save(tmp_path / "d.npz", **arrays)
    got = read_npz(tmp_path / "d.npz")
    assert sorted(got) == sorted(arrays)
    for name, array in arrays.items():
        np.testing.assert_array_equal(got[name], array)


def test_a_header_claiming_a_huge_shape_allocates_nothing(tmp_path):
    """A 192-byte file claiming (10**10, 8) float64: numpy.load asks for 596 GiB first."""
    path = tmp_path / "huge.npy"
    path.write_bytes(_npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000, 8), }"))
    with pytest.raises(LoadError, match=r"huge.npy: the header claims shape \(10000000000, 8\)"
                                        r" .* but 0 bytes of data follow it"):
        read_npy(path)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty; expected a .npy array"),
    (b"1,2,3\n4,5,6\n", "is not a .npy array (the magic string is not correct"),
    # a header cut inside a string: numpy's Python 2 fallback raises tokenize.TokenError
    (_npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), '''"),
     "is not a .npy array"),
    (_npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }"),
     "negative length"),
    (_npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }") + b"\0" * 9,
     "claims shape (2,) of float64 (16 bytes) but 9 bytes"),
    (b"\x93NUMPY\x01\x00\xff\xff{", "is not a .npy array (EOF"),
])
def test_bad_npy_files_raise_one_load_error(tmp_path, content, message):
    path = tmp_path / "bad.npy"
    path.write_bytes(content)
    with pytest.raises(LoadError) as error:
        read_npy(path)
    assert str(error.value).startswith(str(path)) and message in str(error.value)


def test_object_arrays_are_refused_unread(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{}, 1], dtype=object), allow_pickle=True)
    with pytest.raises(LoadError, match="holds object data"):
        read_npy(tmp_path / "o.npy")


def test_an_archive_is_not_an_array_and_an_array_not_an_archive(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones(2))
    np.save(tmp_path / "a.npy", np.ones(2))
    with pytest.raises(LoadError, match="is a .npz archive of several arrays"):
        read_npy(tmp_path / "d.npz")
    with pytest.raises(LoadError, match="is not a .npz archive but one .npy array"):
        read_npz(tmp_path / "a.npy")


def test_a_truncated_or_corrupted_member_is_a_load_error(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.arange(100.0))
    raw = bytearray((tmp_path / "d.npz").read_bytes())
    raw[200] ^= 0xFF  # inside x's data: the CRC no longer matches
    (tmp_path / "crc.npz").write_bytes(bytes(raw))
    with pytest.raises(LoadError, match="crc.npz: array 'x' cannot be read: Bad CRC-32"):
        read_npz(tmp_path / "crc.npz")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "d.npz").read_bytes()[:500])
    with pytest.raises(LoadError, match="cut.npz is not a .npz archive"):
        read_npz(tmp_path / "cut.npz")


def test_a_member_claiming_more_than_the_archive_can_hold(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.arange(4.0))
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
    raw = bytearray(path.read_bytes())
    # the central directory's uncompressed size (stored members: equal to the compressed one)
    at = raw.rindex(b"PK\x01\x02")
    struct.pack_into("<I", raw, at + 24, 10**9)
    path.write_bytes(bytes(raw))
    with pytest.raises(LoadError, match="array 'x' claims 1,000,000,000 bytes"):
        read_npz(path)
    assert info.file_size < 200


def _compressed_npz(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, x=np.arange(2000, dtype=np.int64) % 7)
    return path, bytearray(path.read_bytes())


def test_corrupt_deflate_data_is_a_load_error(tmp_path):
    """Found by tests/fuzz: zlib.error leaked from inside the archive's member."""
    path, data = _compressed_npz(tmp_path)
    start = data.index(b"PK\x03\x04") + 30 + len("x.npy") + 20  # inside the deflate stream
    for offset in range(start, start + 40, 3):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(LoadError, match="array 'x' cannot be read"):
        read_npz(path)


def test_an_unknown_zip_version_is_a_load_error(tmp_path):
    """Found by tests/fuzz: NotImplementedError('zip file version 17.3') leaked."""
    path, data = _compressed_npz(tmp_path)
    central = data.index(b"PK\x01\x02")
    data[central + 6:central + 8] = (173).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(LoadError, match="zip file version 17.3"):
        read_npz(path)
