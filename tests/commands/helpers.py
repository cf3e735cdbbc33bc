"""What the command tests share besides fixtures: reading printed results, skip markers."""

import re
import shutil

import pytest


def results(out: str, prefix: str = "test") -> dict[str, float]:
    """``{"loss": …, "accuracy": …}`` from a ``test loss 0.1234  test accuracy 0.9`` line."""
    found = re.findall(rf"{prefix} (\w+) (-?\d+\.\d+)", out)
    assert found, out
    return {name: float(value) for name, value in found}


needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (Debian/Ubuntu: apt-get install espeak-ng); it "
           "synthesises the spoken digits")
