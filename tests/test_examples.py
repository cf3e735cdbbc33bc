"""The example scripts run and do what they say (the text examples: tests/text/test_examples.py).

Each runs as a script would, shortened through its own command-line options where its full
run takes minutes (the spoken digits: through fewer voices).
"""

import functools
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

_ROOT = Path(cr.__file__).resolve().parents[1]
_EXAMPLES = _ROOT / "examples"
_TEXTBOOK = _EXAMPLES / "textbook_sigmoid.py"


def _run_script(monkeypatch, capsys, name, *argv):
    """Runs ``examples/name`` as ``python examples/name *argv`` would; returns what it printed."""
    monkeypatch.setattr(sys, "argv", [name, *argv])
    runpy.run_path(str(_EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def _run_process(cwd, name, *argv):
    """Runs ``python examples/name *argv`` in a process of its own, its BLAS on one thread (the
    small products of these scripts only lose time to threads on a busy machine)."""
    env = {**os.environ, "PYTHONPATH": str(_ROOT), "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(_EXAMPLES / name), *argv], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_textbook_sigmoid_script_learns(tmp_path):
    out = _run_process(tmp_path, "textbook_sigmoid.py")
    losses = [float(v) for v in re.findall(r"epoch +\d+  J = ([0-9.]+)", out)]
    assert len(losses) == 11  # every 30th epoch and the last
    # gradient descent with a small enough step: J falls every time
    assert all(earlier > later for earlier, later in zip(losses, losses[1:]))
    assert losses[0] > 1.2 and losses[-1] < 0.1  # measured 1.2470 → 0.0860
    error = float(re.search(r"differ by at most (\S+)\n", out).group(1))
    assert error < 1e-5
    accuracy = float(re.search(r"test accuracy (\S+)\n", out).group(1))
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


def test_cnn_images_script_reaches_its_digits_bar(tmp_path):
    out = _run_process(tmp_path, "cnn_images.py", "--data", "digits", "--out", str(tmp_path))
    accuracy = float(re.search(r"digits: test accuracy ([0-9.]+) \(bar 0.98\)", out).group(1))
    assert accuracy >= 0.98  # measured 0.9889; below the bar the script exits with an error
    model = cr.load_model(tmp_path / "cnn-digits.safetensors")
    assert model(cr.tensor(np.zeros((2, 1, 8, 8), np.float32))).shape == (2, 10)


def test_explain_digits_script_verifies_and_writes_the_report(monkeypatch, capsys, tmp_path):
    report = tmp_path / "report.html"
    out = _run_script(monkeypatch, capsys, "explain_digits.py", "--epochs", "1",
                      "--out", str(report))
    assert "every term verified: True, first disagreeing layer: None" in out
    assert re.search(r"layer 1 \(Linear\): gradient norm [0-9.e+-]+ → ", out)
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_vanishing_gradients_script_shows_the_sigmoid_gradient_vanish(monkeypatch, capsys,
                                                                      tmp_path):
    plot = tmp_path / "flow.png"
    out = _run_script(monkeypatch, capsys, "vanishing_gradients.py", "--epochs", "1",
                      "--out", str(plot))
    share = {activation: float(value) for activation, value in re.findall(
        r"10-layer (sigmoid|relu): layer 1 gets (\S+) of the output layer's", out)}
    assert share["sigmoid"] < 1e-4 and share["relu"] > 0.1  # measured 2.5e-08 and 1.1
    if "matplotlib is not installed" not in out:
        assert plot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.skipif(shutil.which("espeak-ng") is None,
                    reason="espeak-ng is not installed (Debian package espeak-ng)")
def test_speech_digits_script_on_a_few_voices(monkeypatch, capsys, tmp_path):
    # The script's data are 17,550 synthesised clips (minutes); two accents of three voices,
    # one of them held out, make the same run in seconds.
    few_voices = functools.partial(
        cr.datasets.spoken_digits, accents=("en-us", "en-gb"), variants=("m1", "f2", "m3"),
        test_variants=("m3",), speeds=(175,), pitches=(50,), flite_voices=())
    monkeypatch.setattr(cr.datasets, "spoken_digits", few_voices)
    out = _run_script(monkeypatch, capsys, "speech_digits.py", "--epochs", "1",
                      "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "run"))
    assert re.search(r"test accuracy on held-out voices at 10 dB SNR: [0-9.]+", out)
    assert "confusion matrix" in out
    assert (tmp_path / "run" / "model.safetensors").exists()
    assert (tmp_path / "run" / "history.csv").exists()


def test_pinn_poisson_script_reaches_its_bar(tmp_path):
    out = _run_process(tmp_path, "pinn_poisson.py", "--quick")
    error = float(re.search(r"relative L2 error of u against sin\(pi x\): (\S+) ", out).group(1))
    assert error <= 1e-2  # measured 6.6e-04 in the quick run


def test_newton_cg_script_checks_hvp_and_beats_gradient_descent(tmp_path):
    out = _run_process(tmp_path, "newton_cg.py", "--quick")
    error = float(re.search(r"times v: relative error (\S+)\n", out).group(1))
    assert error < 1e-10  # measured 1.3e-16
    newton, descent = map(int, re.search(r"Newton-CG (\d+), gradient descent (\d+)", out).groups())
    assert newton < descent  # measured 5 and 89


def test_gradient_penalty_script_trains_through_the_penalty(tmp_path):
    out = _run_process(tmp_path, "gradient_penalty.py", "--quick")
    distance, norm = map(float, re.search(
        r"distance (\S+); critic gradient norm (\S+)\n", out).groups())
    assert distance < 0.5 and abs(norm - 1) < 0.2  # measured 0.16 and 0.97
