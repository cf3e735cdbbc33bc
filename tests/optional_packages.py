"""Telling an optional package's absence from a bug, for tests that import or run everything.

A fresh machine has only the test extra installed, so some of chainrule cannot import or run
there: a module that needs an absent package (``ModuleNotFoundError`` naming a package outside
chainrule), or an optional part whose guard says what to install (an ``ImportError`` whose
message holds ``pip install``). Anything else is a real error.
"""

import re

__all__ = ["missing_package", "missing_package_in_report"]


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
