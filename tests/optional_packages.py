"""Telling an optional package's absence from a bug, for tests that import or run everything.

A fresh machine has only the test extra installed, so some of chainrule cannot import or run
there: a module that needs an absent package (``ModuleNotFoundError`` naming a package outside
chainrule), or an optional part whose guard says what to install (an ``ImportError`` whose
message holds ``pip install``). Anything else is a real error.
"""

import re
from types import ModuleType

import pytest

__all__ = ["HOW_TO_INSTALL", "importorskip", "missing_package", "missing_package_in_report"]

# How to get each optional reference the tests compare with (the skip reason says it).
HOW_TO_INSTALL = {
    "torch": "pip install torch==2.13.0 (a CPU wheel; a plain `torch` pulls a CUDA build)",
    "safetensors": "pip install torch==2.13.0 (safetensors.torch needs PyTorch)",
    "scipy": "pip install scipy",
    "librosa": "pip install librosa",
    "matplotlib": "pip install 'chainrule[plots]'",
    "sklearn": "pip install 'chainrule[sklearn]'",
}


def importorskip(name: str) -> ModuleType:
    """``pytest.importorskip(name)`` with a skip reason that says how to install it."""
    how = HOW_TO_INSTALL.get(name.partition(".")[0], f"pip install {name.partition('.')[0]}")
    return pytest.importorskip(name, reason=f"needs {name}, which is not installed: {how}")


def missing_package(error: ImportError) -> str | None:
    """Why ``error`` is an absent optional package (a skip reason), or None for a real error."""
    if isinstance(error, ModuleNotFoundError):
        if error.name is None or error.name.partition(".")[0] == "chainrule":
            return None
        return f"needs {error.name}, which is not installed"
    return str(error) if "pip install" in str(error) else None


def missing_package_in_report(report: str) -> str | None:
    """The same for a doctest's failure report: the exception line it ends with."""
    found = re.findall(r"^\s*(?:ModuleNotFoundError: No module named '([^'.]+)[^']*'|"
                       r"ImportError: (.*pip install.*))$", report, flags=re.MULTILINE)
    if not found:
        return None
    module, guard = found[-1]
    if module == "chainrule":
        return None
    return guard or f"needs {module}, which is not installed"
