"""Reader for the IDX format of MNIST-style data sets (gzip-compressed or raw).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order, big-endian.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from ..io.files import open_regular

__all__ = ["read_idx"]

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22


@contextlib.contextmanager
def _open(path: Path) -> Iterator[IO[bytes] | gzip.GzipFile]:
    """A binary reader of the file's content, decompressing gzip (detected by its magic)."""
    with open_regular(path, "an IDX file") as file:
        compressed = file.read(2) == _GZIP_MAGIC
        file.seek(0)
        if not compressed:
            yield file
            return
        with gzip.GzipFile(fileobj=file, mode="rb") as content:
            yield content


def _read_exactly(f, size: int) -> bytes:
    """Read up to ``size`` bytes in chunks, so a header claiming a huge size allocates nothing
    until the bytes actually arrive."""
    parts, got = [], 0
    while got < size:
        chunk = f.read(min(_CHUNK, size - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file into an array of its shape and dtype (native byte order).

    Args:
        path: an IDX file, gzip-compressed or not (decided by the content, not the name).

    Returns:
        The array, e.g. ``uint8`` of shape ``(60000, 28, 28)`` for MNIST training images.

    Raises:
        ValueError: the file is not IDX, its gzip data is corrupt, or its size disagrees with
            its header (the message names the file and both sizes). ``cr.LoadError`` (a
            ValueError) for a path that is not a regular file.
    """
    path = Path(path)
    try:
        with _open(path) as f:
            magic = _read_exactly(f, 4)
            if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in _TYPES:
                raise ValueError(
                    f"{path} is not an IDX file: magic number {magic.hex() or '(empty)'}, expected "
                    f"0000 then a type code in {sorted(hex(t) for t in _TYPES)} and a rank"
                )
            dtype, ndim = np.dtype(_TYPES[magic[2]]), magic[3]
            header = _read_exactly(f, 4 * ndim)
            if len(header) < 4 * ndim:
                raise ValueError(f"{path}: truncated IDX header ({ndim} dimensions announced)")
            shape = tuple(int(d) for d in np.frombuffer(header, dtype=">u4"))
            expected = math.prod(shape) * dtype.itemsize
            payload = _read_exactly(f, expected + 1)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from exc
    if len(payload) != expected:
        found = "more than" if len(payload) > expected else f"{len(payload)} bytes, not"
        raise ValueError(
            f"{path}: the IDX header announces shape {shape} ({expected} bytes of {dtype.name}) "
            f"but the file holds {found} {expected} bytes of data"
        )
    return np.frombuffer(payload, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
