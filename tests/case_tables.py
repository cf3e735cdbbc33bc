"""What the op-case and layer-case tables share: gathering ``CASES`` from their modules."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Any

__all__ = ["collect_cases"]


def collect_cases(package: str, path: Iterable[str], kind: str) -> list[Any]:
    """``CASES`` of every module of ``package`` (its ``__path__`` is ``path``) in name order,
    checked for repeated case names (``kind`` names the table in the error)."""
    cases: list[Any] = []
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        cases.extend(getattr(module, "CASES", ()))
    names = [case.name for case in cases]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{kind} cases need unique names; repeated: {repeated}")
    return cases
