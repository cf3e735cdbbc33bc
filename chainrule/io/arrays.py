"""Reading a user's ``.npy`` and ``.npz`` arrays: validated against the file before any
allocation, every failure a ``LoadError`` naming the file and the problem.

``numpy.load`` trusts the header: a 192-byte ``.npy`` claiming shape ``(10**10, 8)`` makes it
allocate 596 GiB before it finds the data missing, and a corrupt header surfaces as
``tokenize.TokenError`` or a bare ``EOFError``. Here the header is parsed with NumPy's own
reader, the claimed size is checked against the bytes that are really there (the file's size,
or the archive member's size, itself checked against the archive), and only then is the data
read — in chunks, so a lie costs nothing. Object arrays (pickles) are refused.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> np.save(path, np.arange(6).reshape(2, 3))
    >>> read_npy(path)
    array([[0, 1, 2],
           [3, 4, 5]])
"""

from __future__ import annotations

import math
import os
import tokenize
import zipfile
import zlib
from typing import IO

import numpy as np
import numpy.lib.format as npy_format

from .files import open_regular
from .format import LoadError

__all__ = ["read_npy", "read_npz"]

_CHUNK = 1 << 22
# Deflate cannot expand data by more than about 1032:1; a member claiming more is not real.
_MAX_DEFLATE_RATIO = 1100
# Parsing a hostile header can fail in any of these ways (tokenize: Python 2 era headers).
# What zipfile raises for a corrupt archive: its own error, or the decompressor's (zlib.error
# for damaged deflate data), or NotImplementedError for a mangled version or method field.
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, ValueError,
                   EOFError)
_HEADER_ERRORS = (ValueError, SyntaxError, TypeError, KeyError, OverflowError, RecursionError,
                  MemoryError, tokenize.TokenError, EOFError, UnicodeDecodeError)


def read_npy(path: str | os.PathLike) -> np.ndarray:
    """The array in a ``.npy`` file, checked before it is read.

    Raises:
        FileNotFoundError: no such file.
        LoadError: not a regular file, not a ``.npy`` array (a text file, an empty file, a
            ``.npz`` archive), a corrupt header, an object array, or fewer or more data bytes
            than the header claims.

    **Shape**: whatever the file holds.
    """
    name = os.fspath(path)
    with open_regular(path, "a .npy array") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            raise LoadError(f"{name} is empty; expected a .npy array (np.save writes one)")
        if file.read(2) == b"PK":
            raise LoadError(f"{name} is a .npz archive of several arrays; expected one .npy array")
        file.seek(0)
        return _read_array(file, size, name)


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a ``.npz`` archive (``np.savez`` or ``np.savez_compressed``), by name.

    Raises:
        FileNotFoundError: no such file.
        LoadError: not a regular file, not a zip archive (a single ``.npy`` array, a text
            file), a member that is not a ``.npy`` array, or sizes that disagree.
    """
    name = os.fspath(path)
    with open_regular(path, "a .npz archive") as file:
        size = os.fstat(file.fileno()).st_size
        try:
            archive = zipfile.ZipFile(file)
        except _ARCHIVE_ERRORS as error:
            file.seek(0)
            hint = " but one .npy array" if file.read(6) == npy_format.MAGIC_PREFIX else ""
            raise LoadError(f"{name} is not a .npz archive{hint} ({error})") from None
        with archive:
            return {_member_name(member.filename): _read_member(archive, member, size, name)
                    for member in archive.infolist()}


def _member_name(filename: str) -> str:
    return filename[:-4] if filename.endswith(".npy") else filename


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, archive_size: int,
                 name: str) -> np.ndarray:
    where = f"{name}: array {_member_name(member.filename)!r}"
    compressed = member.compress_type != zipfile.ZIP_STORED
    limit = archive_size * (_MAX_DEFLATE_RATIO if compressed else 1)
    if member.compress_size > archive_size or member.file_size > limit:
        raise LoadError(f"{where} claims {member.file_size:,} bytes, more than an archive of "
                        f"{archive_size:,} bytes can hold; corrupt or hostile")
    try:
        with archive.open(member) as file:
            return _read_array(file, member.file_size, where)
    except _ARCHIVE_ERRORS as error:
        if isinstance(error, LoadError):
            raise
        raise LoadError(f"{where} cannot be read: {error or type(error).__name__}; the "
                        "archive is truncated or corrupt") from None


def _read_array(file: IO[bytes], size: int, name: str) -> np.ndarray:
    """Parse the header at the file's position, check it against ``size`` (the bytes of the
    whole ``.npy`` image), then read exactly the data it claims."""
    try:
        version = npy_format.read_magic(file)
        if version == (1, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_1_0(file)
        elif version == (2, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_2_0(file)
        else:  # 3.0 only adds UTF-8 field names, for record arrays, which are refused anyway
            raise ValueError(f"format version {version} is not read here (1.0 and 2.0 are)")
    except _HEADER_ERRORS as error:
        raise LoadError(f"{name} is not a .npy array ({error or type(error).__name__}); "
                        "np.save writes one") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise LoadError(f"{name} holds {dtype} data (Python objects or records); expected "
                        "numbers or text")
    if any(n < 0 for n in shape):
        raise LoadError(f"{name}: the header's shape {shape} has a negative length")
    claimed = math.prod(shape) * dtype.itemsize
    available = size - file.tell()
    if claimed != available:
        raise LoadError(f"{name}: the header claims shape {shape} of {dtype} ({claimed:,} "
                        f"bytes) but {available:,} bytes of data follow it; truncated or "
                        "corrupt")
    data = bytearray()
    while len(data) < claimed:
        chunk = file.read(min(_CHUNK, claimed - len(data)))
        if not chunk:
            raise LoadError(f"{name}: the data ends after {len(data):,} of {claimed:,} bytes; "
                            "truncated")
        data += chunk
    array = np.frombuffer(data, dtype=dtype, count=math.prod(shape))
    return array.reshape(shape, order="F" if fortran_order else "C")
