"""What cannot be exported says so, naming the layer; chainrule imports without onnx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx_roundtrip import onnx  # noqa: F401  (skips this module without onnx)

import chainrule as cr
from chainrule import nn
from chainrule.onnx import ExportError, Graph, Value

_x = np.zeros((2, 4), dtype=np.float32)


class Doubler(nn.Module):
    def forward(self, x):
        return x * 2


def test_layer_without_converter_is_named(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), Doubler())
    with pytest.raises(ExportError, match=r"no ONNX converter for Doubler \(Doubler\(\)\)"):
        cr.onnx.export(model, _x, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_batch_norm_without_running_statistics(tmp_path):
    layer = nn.BatchNorm1d(4, track_running_stats=False)
    with pytest.raises(ExportError, match=r"BatchNorm1d\(4.*keeps no running statistics"):
        cr.onnx.export(layer, _x, tmp_path / "m.onnx")


def test_flatten_of_the_batch_axis(tmp_path):
    with pytest.raises(ExportError, match="merges the batch axis"):
        cr.onnx.export(nn.Flatten(0), _x, tmp_path / "m.onnx")


def test_inputs_chainrule_refuses_are_refused_by_chainrule(tmp_path):
    with pytest.raises(ValueError, match="in_features=3"):
        cr.onnx.export(nn.Linear(3, 2), _x, tmp_path / "m.onnx")


@pytest.mark.parametrize("opset", [16, 10_000])
def test_opset_out_of_range(opset, tmp_path):
    with pytest.raises(ValueError, match="opset must be in"):
        cr.onnx.export(nn.Linear(4, 2), _x, tmp_path / "m.onnx", opset=opset)


def test_recurrent_mask_and_some_attention_masks_have_no_converter():
    g = Graph(17)
    sequence = Value("x", np.zeros((2, 3, 4), dtype=np.float32))
    with pytest.raises(ExportError, match="general mask has no ONNX form; pass lengths"):
        g.convert(nn.LSTM(4, 3, batch_first=True), sequence, mask=np.ones((2, 3), dtype=bool))
    attention = nn.MultiheadAttention(4, 2, batch_first=True)
    with pytest.raises(ExportError, match="attn_mask and is_causal have no converter"):
        g.convert(attention, sequence, sequence, sequence, is_causal=True)
    additive = Value("mask", np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ExportError, match="boolean key_padding_mask only, got float32"):
        g.convert(attention, sequence, sequence, sequence, key_padding_mask=additive)


def test_missing_onnx_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"pip install chainrule\[onnx\]"):
        cr.onnx.export(nn.Linear(4, 2), _x, tmp_path / "m.onnx")


def test_chainrule_imports_without_onnx_or_sklearn():
    code = ("import sys; sys.modules['onnx'] = sys.modules['sklearn'] = None; "
            "import chainrule, chainrule.onnx; print(chainrule.onnx.export.__name__)")
    root = Path(cr.__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "export"


class _Twice(nn.Module):
    def forward(self, x):
        y = x * 2  # the converter below writes the same for ONNX
        return y, y


@cr.onnx.converter(_Twice)
def _twice(g, layer, x):
    y = g.op("Mul", x.name, g.scalar(2, x.example.dtype))
    return y, y


def test_outputs_named_once_each_even_when_they_repeat_or_are_the_input(tmp_path):
    from onnx_roundtrip import ort

    for model, count in ((_Twice(), 2), (nn.Identity(), 1)):
        cr.onnx.export(model, _x, tmp_path / "m.onnx")
        session = ort.InferenceSession(str(tmp_path / "m.onnx"))
        results = session.run(None, {"input": np.ones((3, 4), np.float32)})
        assert len(results) == count
        assert all(np.array_equal(r, np.full((3, 4), 2.0 if count == 2 else 1.0))
                   for r in results)
