"""The op-case table on each device (the ``device`` fixture): every case's forward and gradients
computed on the device equal the CPU's, and stay on the device.

The gradients are those of ``Σ out ⊙ P`` for a fixed random ``P``, so every output element
weighs in differently; the CPU's own gradients are checked against central differences by
tests/ops/test_ops.py, so agreeing with them checks the device's.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend
from ops.cases import CASES

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: (1e-4, 1e-5), np.float64: (1e-10, 1e-12)}  # a GPU sums in its own order


def _run(case, dtype, device):
    """The output and the input gradients of ``case`` on ``device``, as host arrays."""
    inputs = [cr.tensor(x.astype(dtype), device=device, requires_grad=True) for x in case.inputs]
    constants = [backend.to_device(c, device) if isinstance(c, np.ndarray) and c.ndim else c
                 for c in case.constants]
    out = case.fn(*inputs, *constants)
    assert out.device == device, f"{case.name}: output on {out.device}, inputs on {device}"
    weights = np.random.default_rng(0).uniform(0.5, 1.5, out.shape).astype(out.dtype)
    if out.dtype.kind == "f" and out.requires_grad:
        (out * cr.tensor(weights, device=device)).sum().backward()
    grads = []
    for i, t in enumerate(inputs):
        if t.grad is not None:
            assert backend.device_of(t.grad) == device, f"{case.name}: gradient {i} left {device}"
        grads.append(None if t.grad is None else backend.to_host(t.grad))
    return out.numpy(), grads


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_case_on_device_matches_cpu(case, dtype, device):
    expected_out, expected_grads = _run(case, dtype, "cpu")
    out, grads = _run(case, dtype, device)
    rtol, atol = TOLERANCE[dtype]
    np.testing.assert_allclose(out, expected_out, rtol=rtol, atol=atol)
    for i, (g, expected) in enumerate(zip(grads, expected_grads)):
        assert (g is None) == (expected is None), f"input {i}"
        if g is not None:
            np.testing.assert_allclose(g, expected, rtol=rtol, atol=atol, err_msg=f"input {i}")
