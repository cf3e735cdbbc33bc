"""Opening a path that a user named: a regular file, or a clear error — never a hang.

``open(path)`` on a FIFO blocks until a writer appears, and on a directory fails with
"[Errno 21] Is a directory". ``open_regular`` opens without blocking (``O_NONBLOCK``, which
regular files ignore), then checks what it opened, so a FIFO, a device or a socket is refused
at once and a directory is reported as "a folder, not a file". Every reader of a user's file
(model files, ``.npy``/``.npz`` data, WAV and IDX files) opens it through here.

Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> regular_file(folder, "a model file")
    Traceback (most recent call last):
    ...
    chainrule.io.files.LoadError: ... is a folder; expected a model file
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

__all__ = ["LoadError", "open_regular", "regular_file"]

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class LoadError(ValueError):
    """A file cannot be loaded: truncated, corrupted, hostile, or not what the caller expects."""


def _refuse(path, mode: int, what: str) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise LoadError(f"{os.fspath(path)} is {kind}; expected {what}")


def regular_file(path: str | os.PathLike, what: str = "a regular file") -> os.stat_result:
    """The status of ``path`` after checking, without opening it, that it is a regular file.

    Args:
        path: the file.
        what: what the caller expected, for the message ("a model file", "a .npy array").

    Raises:
        FileNotFoundError: no such file.
        LoadError: a folder, a FIFO or another non-regular file, named in the message.
    """
    status = os.stat(path)
    _refuse(path, status.st_mode, what)
    return status


def open_regular(path: str | os.PathLike, what: str = "a regular file") -> BinaryIO:
    """``open(path, "rb")`` for regular files only, never blocking on a FIFO.

    The check is on the opened descriptor (``fstat``), so a file swapped for a FIFO between a
    check and the open cannot make it hang.

    Raises:
        FileNotFoundError: no such file.
        LoadError: ``path`` is not a regular file (a folder, a FIFO, a device).
    """
    if os.path.isdir(path):  # os.open cannot open a folder for reading on every system
        _refuse(path, os.stat(path).st_mode, what)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        _refuse(path, os.fstat(fd).st_mode, what)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")
