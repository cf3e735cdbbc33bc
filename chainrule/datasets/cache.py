"""The cache: the folder where chainrule keeps what it downloads and makes — Fashion-MNIST's
files, the synthesised spoken digits (clips and feature arrays). It is ``$CHAINRULE_DATA`` when
that is set, else ``~/.cache/chainrule``; ``chainrule cache`` lists it and ``chainrule cache
--clear`` empties it.

Example:
    >>> format_size(221_300_000)
    '221.3 MB'
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ._locate import CACHE_DIR, _data_roots

__all__ = ["WRITTEN", "cache_folder", "entries", "clear", "format_size", "size_of", "note"]

# What chainrule writes into the cache, by the data set's folder: all that --clear removes
# (a data folder may also hold files the user put there, such as CIFAR-10's).
WRITTEN = ("fashion-mnist", "spoken-digits")


def cache_folder() -> Path:
    """The folder chainrule writes downloads and made data to."""
    return _data_roots(None, CACHE_DIR)[0]


def size_of(path: Path) -> int:
    """Bytes in a file, or in every file below a folder (links not followed)."""
    if path.is_symlink() or not path.is_dir():
        return path.lstat().st_size if path.exists() or path.is_symlink() else 0
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir() or p.is_symlink())


def format_size(size: int) -> str:
    """Bytes in decimal units: ``'512 B'``, ``'3.4 kB'``, ``'221.3 MB'``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def entries() -> list[tuple[str, int]]:
    """``(name, bytes)`` of every file and folder in the cache folder, by name."""
    folder = cache_folder()
    if not folder.is_dir():
        return []
    return [(p.name, size_of(p)) for p in sorted(folder.iterdir())]


def clear() -> list[tuple[str, int]]:
    """Delete what chainrule wrote to the cache (``WRITTEN``); ``(name, bytes)`` of each
    entry removed."""
    removed = []
    for name in WRITTEN:
        path = cache_folder() / name
        if path.exists():
            size = size_of(path)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append((name, size))
    return removed


def note(path: Path) -> str:
    """The line that says where a cached data set is and how big it is."""
    return (f"{path.name}: {format_size(size_of(path))} cached in {path} (chainrule cache "
            "lists the cache; chainrule cache --clear empties it)")
