"""Export a model, check the file and run it in onnxruntime beside chainrule."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

_WHY = "the ONNX export tests need onnx and onnxruntime: pip install chainrule[onnx]"
# Submodules, not the bare names: under pytest, tests/ is on sys.path, where the folder
# tests/onnx would pass for an installed onnx.
pytest.importorskip("onnx.checker", reason=_WHY)
ort = pytest.importorskip("onnxruntime", reason=_WHY)
import onnx  # noqa: E402

ATOL = 1e-5


def _leaves(tree) -> list:
    if isinstance(tree, tuple):
        return [leaf for branch in tree for leaf in _leaves(branch)]
    return [tree.data]


def outputs(model: cr.nn.Module, x: np.ndarray) -> list[np.ndarray]:
    """chainrule's eval-mode outputs, flattened as the exported graph lists them."""
    model.eval()
    with cr.no_grad():
        return _leaves(model(cr.Tensor(x)))


def largest_difference(model: cr.nn.Module, example: np.ndarray, inputs: list, path,
                       **options) -> float:
    """Export ``model`` at ``example``, check the file (full check), run every input in
    onnxruntime and return the largest difference from chainrule's outputs; shapes must
    agree exactly."""
    cr.onnx.export(model, example, path, **options)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in inputs:
        assert x.shape != example.shape, "change the batch size from the example's"
        expected = outputs(model, x)
        got = session.run(None, {"input": x})
        assert len(got) == len(expected)
        for e, g in zip(expected, got):
            assert g.shape == e.shape and g.dtype == e.dtype
            worst = max(worst, float(np.abs(g - e).max()))
    return worst


def randomize_statistics(model: cr.nn.Module, seed: int = 0) -> cr.nn.Module:
    """Give every batch norm running statistics and affine weights far from their defaults
    (mean 0, var 1, γ 1, β 0), so a converter that ignored them would be caught."""
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, (cr.nn.BatchNorm1d, cr.nn.BatchNorm2d)):
            m.running_mean[...] = rng.normal(size=m.num_features)
            m.running_var[...] = rng.uniform(0.5, 2.0, size=m.num_features)
            if m.affine:
                m.weight.data[...] = rng.normal(size=m.num_features)
                m.bias.data[...] = rng.normal(size=m.num_features)
        if isinstance(m, (cr.nn.GroupNorm, cr.nn.InstanceNorm2d)) and m.affine:
            m.weight.data[...] = rng.normal(size=m.weight.shape)
            m.bias.data[...] = rng.normal(size=m.bias.shape)
    return model
