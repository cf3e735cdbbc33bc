"""cr.gradcheck itself: it passes correct rules and, above all, fails on wrong ones."""

import inspect
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function
from chainrule.gradcheck import central_difference
from chainrule.ops.elementwise import Mul


class _WrongSquare(Function):
    """y = x²; backward deliberately returns x instead of 2x."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return grad * self.x


class _WrongAtOneElement(Function):
    """y = 3x; backward is right except at flat element 4."""

    def forward(self, x):
        return 3 * x

    def backward(self, grad):
        g = 3 * grad
        g.reshape(-1)[4] += 0.01
        return g


class _SwappedMul(Mul):
    """Mul with the two input gradients swapped: right shapes, wrong values."""

    def backward(self, grad):
        ga, gb = super().backward(grad)
        return gb, ga


def test_signature_matches_the_contract():
    params = inspect.signature(cr.gradcheck).parameters
    assert [params[k].default for k in ("eps", "atol", "rtol")] == [1e-6, 1e-5, 1e-3]
    assert issubclass(cr.GradcheckError, AssertionError)


def test_passes_correct_rules_on_non_scalar_outputs():
    x = cr.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    assert cr.gradcheck(lambda t: (t * t).tanh() @ t.T, x) is True


def test_fails_on_a_wrong_rule_naming_input_and_element():
    x = cr.tensor([[0.5, -1.0], [2.0, 1.5]], requires_grad=True)
    with pytest.raises(cr.GradcheckError) as info:
        cr.gradcheck(lambda t: _WrongSquare.apply(t), x)
    message = str(info.value)
    # Element (0, 0): analytical x·v, numerical 2x·v, with v the projection vector.
    assert "input 0" in message and "(0, 0)" in message
    assert "analytical" in message and "numerical" in message


def test_names_the_exact_wrong_element_and_input():
    a = cr.tensor(np.ones(3), requires_grad=True)
    b = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    with pytest.raises(cr.GradcheckError, match=r"input 1 \(shape \(2, 3\)\), element \(1, 1\)"):
        cr.gradcheck(lambda p, q: p + _WrongAtOneElement.apply(q), a, b)


def test_reports_both_values():
    x = cr.tensor([2.0], requires_grad=True)
    with pytest.raises(cr.GradcheckError) as info:
        cr.gradcheck(lambda t: _WrongSquare.apply(t), x)
    found = re.search(r"analytical (\S+) != numerical (\S+)", str(info.value))
    analytical, numerical = float(found[1]), float(found[2])
    # The rule returns x·v, central differences give 2x·v (v: the projection weight).
    assert numerical == pytest.approx(2 * analytical, rel=1e-6)


def test_fails_on_swapped_gradients_of_a_binary_op():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, -1.0], requires_grad=True)
    with pytest.raises(cr.GradcheckError, match="input 0"):
        cr.gradcheck(lambda p, q: _SwappedMul.apply(p, q), a, b)


def test_constants_pass_through_and_are_not_checked():
    x = cr.tensor([0.5, 1.0], requires_grad=True)
    c = np.array([2.0, 3.0])
    assert cr.gradcheck(lambda t, k: t * k, x, c)
    # A wrong rule on an input without requires_grad is not checked.
    frozen = cr.tensor([0.5, 1.0])
    assert cr.gradcheck(lambda t, f: t * 2 + _WrongSquare.apply(f), x, frozen)


def test_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="requires_grad"):
        cr.gradcheck(lambda t: t * 2, cr.tensor([1.0]))


def test_checks_float32_inputs_in_float64_and_leaves_them_untouched():
    x = cr.tensor(np.array([0.3, -0.7], dtype=np.float32), requires_grad=True)
    before = x.data.copy()
    seen = []

    def fn(t):
        seen.append(t.dtype)
        return (t * t).exp()

    assert cr.gradcheck(fn, x)
    assert set(seen) == {np.dtype(np.float64)}
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None


def test_tolerances_decide():
    x = cr.tensor([1.0], requires_grad=True)

    class _SlightlyOff(Function):
        def forward(self, t):
            return 2 * t

        def backward(self, grad):
            return grad * 2.001  # relative error 5e-4

    assert cr.gradcheck(lambda t: _SlightlyOff.apply(t), x, rtol=1e-3)
    with pytest.raises(cr.GradcheckError):
        cr.gradcheck(lambda t: _SlightlyOff.apply(t), x, rtol=1e-4)


@pytest.mark.parametrize("order", ["C", "F"])
def test_central_difference_perturbs_one_element_by_multi_index(order):
    # f weighs each element differently, so perturbing any other element gives another value;
    # a column-major array has no row-major flat view to write through.
    x = np.asarray(np.arange(6.0).reshape(2, 3) + 1, order=order)
    weights = np.arange(6.0).reshape(2, 3) + 10
    before = x.copy()
    for index in np.ndindex(x.shape):
        # f = Σ w x³: ∂f/∂x = 3 w x²; central differences err by w ε² (the x³ term), ~1e-10
        numerical = central_difference(lambda: float((weights * x**3).sum()), x, index)
        assert numerical == pytest.approx(3 * weights[index] * x[index] ** 2, rel=1e-8)
    np.testing.assert_array_equal(x, before)
    assert x.flags.f_contiguous == (order == "F")


def test_central_difference_restores_the_element_when_f_raises():
    x = np.array([1.0, 2.0])

    def failing():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        central_difference(failing, x, (1,))
    np.testing.assert_array_equal(x, [1.0, 2.0])
