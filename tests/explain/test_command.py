"""``chainrule explain``: the worked XOR example, a saved model, one-line errors."""

import re

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
import chainrule.models  # noqa: F401 - cr.models.build
from chainrule.cli import main


def _run(capsys, *argv):
    code = main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_worked_example_prints_every_step_and_learns(capsys, tmp_path):
    importorskip("matplotlib")  # the plots this test looks for
    code, out, err = _run(capsys, "--html", str(tmp_path / "xor.html"))
    assert code == 0 and err == ""
    for section in ("FORWARD", "BACKWARD", "GRADIENT CHECK", "GRADIENT DESCENT", "TRAINING",
                    "PREDICTIONS"):
        assert section in out
    # one update with its numbers: W[1] ← W[1] − η ∂J/∂W[1], as the optimizer does it
    assert ("  W[1] ← W[1] − η ∂J/∂W[1]\n"
            "       = [[ 0.4959, 0.1937], [ 0.0157, -0.3256]] − 2 × [[0.0034, 0.0036], "
            "[0.0037, 0.0032]]\n"
            "       = [[ 0.489 , 0.1865], [ 0.0083, -0.3319]]") in out
    assert "✓ SGD.step() gives these values;  J: 0.150919 → 0.145294" in out
    losses = [float(v) for v in re.findall(r"epoch +\d+ +J = ([0-9.]+)", out)]
    assert len(losses) == 12 and losses[0] > 0.14 and losses[-1] < 0.01
    assert losses == sorted(losses, reverse=True)  # falling
    predictions = out.split("PREDICTIONS")[1]
    assert predictions.count("✓") == 4 and "✗" not in predictions
    page = (tmp_path / "xor.html").read_text(encoding="utf-8")
    assert "Gradient flow over training" in page and page.count("<img") == 2


def test_a_saved_model_on_one_batch(capsys, tmp_path):
    cr.manual_seed(0)
    model = cr.models.build("mlp", (1, 8, 8), 10, layers=(16,))
    cr.save(model, tmp_path / "model.safetensors")
    code, out, err = _run(capsys, str(tmp_path / "model.safetensors"), "--data", "digits",
                          "--batch", "4", "--html", str(tmp_path / "report.html"))
    assert code == 0 and err == ""
    assert "chainrule explain · Sequential · batch of m = 4" in out
    assert "loss · softmax cross-entropy" in out
    assert "every checked gradient agrees with central differences" in out
    assert (tmp_path / "report.html").exists()


def test_a_language_model_is_explained_at_every_position(capsys, tmp_path, monkeypatch):
    cr.manual_seed(0)
    model = cr.models.build("char-lm", (6,), 9, embedding_dim=3, hidden_size=4)
    cr.save(model, tmp_path / "lm.safetensors")
    ids = np.random.default_rng(0).integers(0, 9, size=(4, 7))
    windows = (ids[:2, :-1], ids[:2, 1:]), (ids[2:, :-1], ids[2:, 1:])  # as load_shakespeare
    monkeypatch.setattr(cr.datasets, "load", lambda name, **options: windows)
    code, out, err = _run(capsys, str(tmp_path / "lm.safetensors"), "--data", "shakespeare",
                          "--batch", "2")
    assert code == 0 and err == ""
    assert "h           model output z[3]" in out and "(2, 6, 9)" in out
    assert "every checked gradient agrees with central differences" in out


@pytest.mark.parametrize("argv, message", [
    (["missing.safetensors"], "model file not found: missing.safetensors"),
    (["--data", "digits"], "--data needs a MODEL file"),
    (["--lr", "-1"], "--lr must be a positive number, got -1.0"),
])
def test_errors_are_one_line_and_exit_2(capsys, argv, message):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("chainrule explain: error: ")
    assert message in err


def test_a_model_that_does_not_fit_the_data(capsys, tmp_path):
    cr.save(cr.nn.Sequential(cr.nn.Linear(3, 2)), tmp_path / "small.safetensors")
    code, _, err = _run(capsys, str(tmp_path / "small.safetensors"), "--data", "digits")
    assert code == 2 and err.count("\n") == 1 and "expected input of shape (..., 3)" in err
    code, _, err = _run(capsys, str(tmp_path / "small.safetensors"), "--data", "nowhere")
    assert code == 2 and "nowhere" in err and err.count("\n") == 1


def test_cr_explain_is_a_plain_function_and_the_package_a_plain_module():
    """``cr.explain(...)`` is the function itself, no module with a swapped class; the package's
    names stay importable from it and reachable on the function."""
    import sys
    import types

    from chainrule.explain import Explanation, GradientMonitor

    package = sys.modules["chainrule.explain"]
    assert type(package) is types.ModuleType
    assert isinstance(cr.explain, types.FunctionType) and cr.explain is package.explain
    assert cr.explain.GradientMonitor is GradientMonitor
    assert cr.explain.Explanation is Explanation
