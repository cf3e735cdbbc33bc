"""Values and gradients of every op case against PyTorch on the same inputs (skips without
torch). Kink cases are included: chainrule's documented conventions are PyTorch's."""

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
from ops.cases import CASES

torch = importorskip("torch")

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


def _second_derivatives(grad, outputs_of, inputs, upstream, weights, zeros):
    """d/dx Σᵢ wᵢ · (Jᵀu)ᵢ: the double backward of one case, in either library."""
    out = outputs_of(inputs)
    firsts = grad(out, inputs, upstream, create_graph=True, allow_unused=True)
    terms = [(g * w).sum() for g, w in zip(firsts, weights) if g is not None and g.requires_grad]
    if not terms:
        return [zeros(x) for x in inputs]
    seconds = grad(sum(terms), inputs, allow_unused=True)
    return [zeros(x) if g is None else g for g, x in zip(seconds, inputs)]


# Kinks where the second derivative is a convention and chainrule's differs from PyTorch's
# (each stated in the op's NOTE).
_SECOND_ORDER_CONVENTIONS = {
    "kink_elu_at_0": "ELU: the left branch's α at 0 (PyTorch: 0)",
    "kink_pow_zero_base": "Pow: ln a taken as 0 at a = 0 (PyTorch: nan)",
}


@pytest.mark.parametrize("case", [c for c in PARITY if c.name not in _SECOND_ORDER_CONVENTIONS],
                         ids=str)
def test_second_derivatives_match_torch(case):
    """Double backward against ``torch.autograd.grad(create_graph=True)`` in float64, kink
    cases included (see ``_SECOND_ORDER_CONVENTIONS`` for the two that differ)."""
    rng = cr.random.resolve(1)
    ours = [cr.tensor(x.copy(), requires_grad=True) for x in case.inputs]
    theirs = [torch.tensor(x, requires_grad=True) for x in case.inputs]
    shape = case.fn(*ours, *case.constants).shape
    upstream = rng.uniform(-1.0, 1.0, size=shape)
    weights = [rng.uniform(-1.0, 1.0, size=x.shape) for x in case.inputs]
    mine = _second_derivatives(
        cr.autograd.grad, lambda xs: case.fn(*xs, *case.constants), ours,
        cr.tensor(upstream), [cr.tensor(w) for w in weights],
        lambda x: cr.tensor(np.zeros(x.shape)))
    other = _second_derivatives(
        torch.autograd.grad, lambda xs: case.torch_fn(torch, *xs, *case.constants), theirs,
        torch.from_numpy(upstream), [torch.from_numpy(w) for w in weights],
        lambda x: torch.zeros(x.shape, dtype=torch.float64))
    rtol, atol = _tolerance(case, np.float64)
    for i, (a, b) in enumerate(zip(mine, other)):
        b = torch.zeros_like(b) + b.detach()  # abs'' is a ZeroTensor, which has no numpy()
        np.testing.assert_allclose(a.data, b.numpy(), rtol=max(rtol, 1e-7),
                                   atol=max(atol, 1e-8),
                                   err_msg=f"{case.name}: second derivative, input {i}")
