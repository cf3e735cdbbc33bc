"""The example scripts run and do what they say: examples/textbook_sigmoid.py."""

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np

import chainrule as cr

_ROOT = Path(cr.__file__).resolve().parents[1]
_TEXTBOOK = _ROOT / "examples" / "textbook_sigmoid.py"


def test_textbook_sigmoid_script_learns(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(_ROOT), "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(_TEXTBOOK)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    losses = [float(v) for v in re.findall(r"epoch +\d+  J = ([0-9.]+)", run.stdout)]
    assert len(losses) == 11  # every 30th epoch and the last
    # gradient descent with a small enough step: J falls every time
    assert all(earlier > later for earlier, later in zip(losses, losses[1:]))
    assert losses[0] > 1.2 and losses[-1] < 0.1  # measured 1.2470 → 0.0860
    error = float(re.search(r"differ by at most (\S+)\n", run.stdout).group(1))
    assert error < 1e-5
    accuracy = float(re.search(r"test accuracy (\S+)\n", run.stdout).group(1))
    assert accuracy >= 0.9  # measured 0.9222


def test_textbook_sigmoid_steps_in_float32_and_float64():
    train = runpy.run_path(str(_TEXTBOOK))["train"]
    (x, y), _ = cr.datasets.load_digits(flatten=True)
    for dtype in (np.float32, np.float64):
        W, b, losses, gradient_error = train(x[:200].astype(dtype), y[:200], epochs=25, lr=2.0)
        assert W.dtype == b.dtype == dtype and W.shape == (10, 64) and b.shape == (10,)
        assert all(earlier > later for earlier, later in zip(losses, losses[1:]))
        assert losses[-1] < 0.5 * losses[0]
        assert gradient_error < (1e-6 if dtype == np.float32 else 1e-12)
        assert W.grad is None and b.grad is None  # cleared after each update
