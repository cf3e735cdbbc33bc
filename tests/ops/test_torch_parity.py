"""Values and gradients of every op case against PyTorch on the same inputs (skips without
torch). Kink cases are included: chainrule's documented conventions are PyTorch's."""

import numpy as np
import pytest

import chainrule as cr
from ops.cases import CASES

torch = pytest.importorskip("torch")

PARITY = [case for case in CASES if case.torch_fn is not None]
# (rtol, atol) per dtype; a case's own forward tolerance widens them (approximate formulas).
_TOLERANCE = {"float32": (2e-5, 1e-5), "float64": (1e-9, 1e-10)}


def _tolerance(case, dtype):
    rtol, atol = _TOLERANCE[np.dtype(dtype).name]
    case_rtol, case_atol = case.tol(dtype)
    return max(rtol, case_rtol), max(atol, case_atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", PARITY, ids=str)
def test_matches_torch(case, dtype):
    arrays = [np.array(x, dtype=dtype) for x in case.inputs]
    ours = [cr.tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]

    out = case.fn(*ours, *case.constants)
    reference = case.torch_fn(torch, *theirs, *case.constants)
    rtol, atol = _tolerance(case, dtype)
    assert tuple(reference.shape) == out.shape
    np.testing.assert_allclose(out.data, reference.detach().numpy(), rtol=rtol, atol=atol)

    # Project on a fixed non-uniform upstream gradient so every output element counts.
    upstream = cr.random.resolve(0).uniform(0.5, 1.5, size=out.shape).astype(out.dtype)
    out.backward(upstream)
    reference.backward(torch.from_numpy(upstream).to(reference.dtype))
    for i, (mine, other) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(mine.grad, other.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"{case.name}: gradient of input {i}")
