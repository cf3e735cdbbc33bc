"""Higher-order gradients: ``cr.autograd.grad``, ``backward(create_graph=..., inputs=...)``,
``cr.autograd.functional`` and ``gradgradcheck``, against closed forms and PyTorch."""

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
from chainrule.autograd import Function
from chainrule.autograd import functional as AF


def _x(*values):
    return cr.tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ------------------------------------------------------------------ grad
def test_grad_leaves_dot_grad_alone_and_returns_tensors():
    x = _x(1.0, 2.0)
    (g,) = cr.autograd.grad((x ** 3).sum(), x)
    assert isinstance(g, cr.Tensor) and g.grad_fn is None and not g.requires_grad
    np.testing.assert_allclose(g.data, [3.0, 12.0])
    assert x.grad is None


def test_derivatives_of_any_order():
    x = _x(0.5, -1.5)
    y = (x ** 4).sum()
    expected = [4 * x.data ** 3, 12 * x.data ** 2, 24 * x.data, np.full(2, 24.0)]
    for order, want in enumerate(expected, 1):
        (y,) = cr.autograd.grad(y.sum(), x, create_graph=True)
        np.testing.assert_allclose(y.data, want, err_msg=f"order {order}")


def test_grad_frees_the_graph_unless_retained_or_recorded():
    x = _x(1.0, 2.0)
    y = (x.exp() * x).sum()
    cr.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="freed"):
        cr.autograd.grad(y, x)
    y = (x.exp() * x).sum()
    cr.autograd.grad(y, x, create_graph=True)  # retain_graph defaults to create_graph
    cr.autograd.grad(y, x)


def test_unused_input_raises_naming_it_unless_allowed():
    x, unused = _x(1.0), _x(2.0, 3.0)
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(2,\)\) was not used"):
        cr.autograd.grad((x * 2).sum(), [x, unused], retain_graph=True)
    assert cr.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)[1] is None


def test_input_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="input 0 .* does not require grad"):
        cr.autograd.grad((_x(1.0) * 2).sum(), cr.tensor([1.0]))


def test_grad_with_respect_to_an_intermediate_and_several_outputs():
    x = _x(1.0, 2.0)
    h = x * x
    a, b = h.sum(), (h * 3).sum()
    dh, dx = cr.autograd.grad([a, b], [h, x], grad_outputs=[cr.tensor(1.0, dtype="float64"),
                                                            cr.tensor(2.0, dtype="float64")])
    np.testing.assert_allclose(dh.data, [7.0, 7.0])
    np.testing.assert_allclose(dx.data, 14 * x.data)


def test_grad_outputs_shape_is_checked():
    x = _x(1.0, 2.0)
    with pytest.raises(ValueError, match=r"got shape \(3,\), expected \(2,\)"):
        cr.autograd.grad(x * 2, x, grad_outputs=np.ones(3))


# ------------------------------------------------------------------ backward
def test_backward_create_graph_makes_grad_a_differentiable_tensor():
    x = _x(1.0, 2.0)
    (x ** 3).sum().backward(create_graph=True)
    assert isinstance(x.grad, cr.Tensor) and x.grad.grad_fn is not None
    (second,) = cr.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(second.data, 6 * x.data)


def test_backward_inputs_accumulates_only_into_them():
    x, w = _x(1.0, 2.0), _x(3.0)
    h = x * w
    (h * h).sum().backward(inputs=[w, h])
    assert x.grad is None
    np.testing.assert_allclose(w.grad, [2 * (x.data ** 2).sum() * w.data[0]])
    np.testing.assert_allclose(h.grad, 2 * h.data)


def test_hooks_see_tensors_under_create_graph():
    x = _x(1.0, 2.0)
    h = x * x
    seen = []
    h.register_hook(lambda g: seen.append(type(g)) or g * 2)
    (g,) = cr.autograd.grad(h.sum(), x, create_graph=True)
    assert seen == [cr.Tensor]
    np.testing.assert_allclose(g.data, 4 * x.data)


class _NoRule(Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return 2 * self.x * grad


def test_op_without_a_double_backward_rule_raises_naming_it():
    x = _x(1.0)
    _NoRule.apply(x).sum().backward()  # first order is fine
    with pytest.raises(RuntimeError, match="_NoRule has no double-backward rule"):
        cr.autograd.grad(_NoRule.apply(x).sum(), x, create_graph=True)


class _Square(_NoRule):
    replayable = True  # the rule reads its input only: replayed on tensors


class _WronglyReplayed(Function):
    """y = x³, saving the derived 3x² (so replaying treats it as a constant: wrong)."""

    replayable = True

    def forward(self, x):
        self.slope = 3 * x * x
        return x * x * x

    def backward(self, grad):
        return grad * self.slope


def test_replayable_custom_op_and_gradgradcheck_catching_a_wrong_rule():
    assert cr.gradgradcheck(_Square.apply, _x(0.5, -1.0))
    assert cr.gradcheck(_WronglyReplayed.apply, _x(0.5, -1.0))
    with pytest.raises(cr.GradcheckError, match="input 0"):
        cr.gradgradcheck(_WronglyReplayed.apply, _x(0.5, -1.0))


# ------------------------------------------------------------------ functional
def _f(x, y):
    return (x.tanh() * y).sum(axis=0) + (x * x).mean()


def _inputs():
    rng = np.random.default_rng(3)
    return cr.tensor(rng.normal(size=(3, 2))), cr.tensor(rng.normal(size=(3, 2)))


def test_jacobian_and_hessian_match_central_differences_shapes_and_symmetry():
    x, y = _inputs()
    jx, jy = AF.jacobian(_f, (x, y))
    assert jx.shape == (2, 3, 2) and jy.shape == (2, 3, 2)
    hess = AF.hessian(lambda a: (a.tanh() * a).sum(), x)
    assert hess.shape == (3, 2, 3, 2)
    flat = hess.data.reshape(6, 6)
    np.testing.assert_allclose(flat, flat.T, atol=1e-12)
    a = x.data.reshape(-1)
    np.testing.assert_allclose(np.diag(flat), 2 / np.cosh(a) ** 2 * (1 - a * np.tanh(a)))


def test_vjp_jvp_hvp_are_consistent_with_the_jacobian_and_hessian():
    x, y = _inputs()
    rng = np.random.default_rng(4)
    u = cr.tensor(rng.normal(size=2))
    v = (cr.tensor(rng.normal(size=(3, 2))), cr.tensor(rng.normal(size=(3, 2))))
    jx, jy = AF.jacobian(_f, (x, y))
    out, (vx, vy) = AF.vjp(_f, (x, y), u)
    np.testing.assert_allclose(out.data, _f(x, y).data)
    np.testing.assert_allclose(vx.data, np.einsum("k,kij->ij", u.data, jx.data))
    np.testing.assert_allclose(vy.data, np.einsum("k,kij->ij", u.data, jy.data))
    _, jv = AF.jvp(_f, (x, y), v)
    np.testing.assert_allclose(jv.data, np.einsum("kij,ij->k", jx.data, v[0].data)
                               + np.einsum("kij,ij->k", jy.data, v[1].data))
    scalar = lambda a: (a.tanh() * a).sum()  # noqa: E731
    _, hv = AF.hvp(scalar, x, v[0])
    hess = AF.hessian(scalar, x).data.reshape(6, 6)
    np.testing.assert_allclose(hv.data.reshape(-1), hess @ v[0].data.reshape(-1))


def test_functional_create_graph_is_differentiable_and_strict_raises():
    x = _x(1.0, 2.0)
    _, hv = AF.hvp(lambda a: (a ** 4).sum(), x, cr.tensor([1.0, 1.0], dtype="float64"),
                   create_graph=True)
    (third,) = cr.autograd.grad(hv.sum(), x)  # d/dx Σ 12x² = 24x
    np.testing.assert_allclose(third.data, 24 * x.data)
    with pytest.raises(RuntimeError, match="strict=True: .* input 1"):
        AF.vjp(lambda a, b: a * 2, (x, _x(3.0, 4.0)), cr.tensor([1.0, 1.0]), strict=True)
    np.testing.assert_allclose(
        AF.vjp(lambda a, b: a * 2, (x, _x(3.0, 4.0)), cr.tensor([1.0, 1.0]))[1][1].data, 0)


def test_functional_matches_torch():
    torch = importorskip("torch")
    import torch.autograd.functional as TF
    x, y = _inputs()
    tx, ty = torch.from_numpy(x.data), torch.from_numpy(y.data)

    def torch_f(a, b):
        return (a.tanh() * b).sum(dim=0) + (a * a).mean()

    for ours, theirs in zip(AF.jacobian(_f, (x, y)), TF.jacobian(torch_f, (tx, ty))):
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10)
    ours = AF.hessian(lambda a, b: _f(a, b).sum(), (x, y))
    theirs = TF.hessian(lambda a, b: torch_f(a, b).sum(), (tx, ty))
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(ours[i][j].data, theirs[i][j].numpy(), atol=1e-12)


def test_gradient_with_respect_to_the_input_stays_a_function_of_the_weights():
    # d/dw Σ_i ∂/∂x_i Σ tanh(x w) = d/dw Σ w (1 - tanh²(x w)): the input gradient's graph
    # must keep the weights although grad() was asked only for x.
    # Linear's double backward reads its inputs from the op (backward_graph): the case that
    # once lost the weights.
    x = cr.tensor(np.array([[0.3], [-0.7]]), requires_grad=True)
    w = cr.tensor(np.array([[1.3]]), requires_grad=True)
    (dx,) = cr.autograd.grad(cr.nn.functional.linear(x, w).tanh().sum(), x, create_graph=True)
    dx.sum().backward()
    t = np.tanh(x.data * w.data)
    expected = np.sum(1 - t * t - 2 * w.data * x.data * t * (1 - t * t))
    np.testing.assert_allclose(w.grad, [[expected]])
    assert x.grad is not None  # and the input's own second derivative
