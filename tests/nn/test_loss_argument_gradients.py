"""Gradients reach every float argument of a loss or an attention that requires grad (issue
18.4): binary_cross_entropy_with_logits' target, weight and pos_weight, cross_entropy's
probability targets and scaled_dot_product_attention's float attn_mask. Before, they were
treated as constants, and backward() said that no input required grad. Checked against central
differences and, when installed, PyTorch."""

import numpy as np
import pytest

import chainrule as cr

F = cr.nn.functional
rng = np.random.default_rng(0)

try:
    import torch
except ImportError:  # pragma: no cover - PyTorch is an optional test dependency
    torch = None


def _t(array, grad=True):
    return cr.tensor(np.asarray(array, dtype=np.float64), requires_grad=grad)


LOGITS = rng.normal(size=(4, 3)) * 3
TARGET = rng.uniform(size=(4, 3))
WEIGHT = rng.uniform(0.5, 2.0, size=(4, 3))
POS_WEIGHT = rng.uniform(0.5, 3.0, size=3)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("learned", ["target", "pos_weight", "weight", "all"])
def test_bce_with_logits_gradients_of_its_arguments(reduction, learned):
    arguments = {"target": TARGET, "weight": WEIGHT, "pos_weight": POS_WEIGHT}
    tensors = {k: _t(v, learned in (k, "all")) for k, v in arguments.items()}
    logits = _t(LOGITS, learned == "all")
    assert cr.gradcheck(lambda x, y, w, p: F.binary_cross_entropy_with_logits(
        x, y, w, p, reduction), logits, tensors["target"], tensors["weight"],
        tensors["pos_weight"])
    # the composite path gives the fused op's value
    fused = F.binary_cross_entropy_with_logits(_t(LOGITS, False), TARGET, WEIGHT, POS_WEIGHT,
                                               reduction)
    composite = F.binary_cross_entropy_with_logits(logits, tensors["target"], tensors["weight"],
                                                   tensors["pos_weight"], reduction)
    np.testing.assert_allclose(composite.data, fused.data, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2)])
def test_cross_entropy_gradient_of_probability_targets(reduction, label_smoothing, shape):
    logits = rng.normal(size=shape)
    probs = rng.dirichlet(np.ones(3), size=(shape[0], *shape[2:]))
    probs = np.moveaxis(probs, -1, 1)
    weight = rng.uniform(0.5, 2.0, size=3)
    target = _t(probs)
    assert cr.gradcheck(lambda x, y: F.cross_entropy(x, y, weight, reduction, label_smoothing),
                        _t(logits), target)
    fused = F.cross_entropy(_t(logits), probs, weight, reduction, label_smoothing)
    composite = F.cross_entropy(_t(logits), target, weight, reduction, label_smoothing)
    np.testing.assert_allclose(composite.data, fused.data, rtol=1e-12)


def test_sdpa_gradient_of_a_float_mask():
    q, k, v = (_t(rng.normal(size=(2, 3, 4))) for _ in range(3))
    mask = _t(rng.normal(size=(3, 3)))
    assert cr.gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                        q, k, v, mask)


def test_only_the_learned_argument_requires_grad():
    """Before: RuntimeError 'no input of the computation had requires_grad=True'."""
    target = _t(TARGET)
    F.binary_cross_entropy_with_logits(_t(LOGITS, False), target).backward()
    assert target.grad.shape == TARGET.shape
    mask = _t(np.zeros((3, 3)))
    q = _t(rng.normal(size=(1, 3, 2)), False)
    F.scaled_dot_product_attention(q, q, q, attn_mask=mask).sum().backward()
    assert mask.grad.shape == (3, 3)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed (pip install torch==2.13.0)")
def test_the_gradients_match_pytorch():
    ours = {k: _t(v) for k, v in (("x", LOGITS), ("y", TARGET), ("w", WEIGHT),
                                  ("p", POS_WEIGHT))}
    # torch differentiates neither the weight nor pos_weight (gradcheck covers ours)
    theirs = {k: torch.tensor(t.data, requires_grad=k in "xy") for k, t in ours.items()}
    F.binary_cross_entropy_with_logits(ours["x"], ours["y"], ours["w"], ours["p"]).backward()
    torch.nn.functional.binary_cross_entropy_with_logits(
        theirs["x"], theirs["y"], theirs["w"], pos_weight=theirs["p"]).backward()
    for name in ("x", "y"):
        np.testing.assert_allclose(ours[name].grad, theirs[name].grad.numpy(), rtol=1e-10)

    probs = rng.dirichlet(np.ones(3), size=4)
    x, y = _t(LOGITS), _t(probs)
    tx, ty = (torch.tensor(a, requires_grad=True) for a in (LOGITS, probs))
    F.cross_entropy(x, y, label_smoothing=0.1).backward()
    torch.nn.functional.cross_entropy(tx, ty, label_smoothing=0.1).backward()
    np.testing.assert_allclose(y.grad, ty.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10)
    # the fused op smooths probability targets too (before: the smoothing was ignored)
    fused = F.cross_entropy(_t(LOGITS, False), probs, label_smoothing=0.1)
    expected = torch.nn.functional.cross_entropy(torch.tensor(LOGITS), torch.tensor(probs),
                                                 label_smoothing=0.1)
    np.testing.assert_allclose(fused.item(), expected.item(), rtol=1e-12)

    q, mask = rng.normal(size=(2, 3, 4)), rng.normal(size=(3, 3))
    m, tm = _t(mask), torch.tensor(mask, requires_grad=True)
    F.scaled_dot_product_attention(_t(q, False), _t(q, False), _t(q, False),
                                   attn_mask=m).sum().backward()
    tq = torch.tensor(q)
    torch.nn.functional.scaled_dot_product_attention(tq, tq, tq, attn_mask=tm).sum().backward()
    np.testing.assert_allclose(m.grad, tm.grad.numpy(), rtol=1e-8, atol=1e-12)
