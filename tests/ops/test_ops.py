"""Every op case (tests/ops/cases) through the same checks: forward values against NumPy,
gradients against central differences, the documented gradient at kinks, float32 kept float32, and a
meta-test that every op in ``chainrule`` has a case."""

import importlib
import pkgutil

import numpy as np
import pytest
from optional_packages import missing_package

import chainrule as cr
from chainrule.autograd import Function
from ops.cases import CASES

SMOOTH = [case for case in CASES if case.kink_grads is None]
KINKS = [case for case in CASES if case.kink_grads is not None]
DTYPES = [np.float32, np.float64]


def _tensors(case, dtype):
    return [cr.tensor(x.astype(dtype), requires_grad=True) for x in case.inputs]


def _recorded_ops(out) -> set:
    """The op classes in the graph behind ``out``."""
    seen, stack = set(), [out.grad_fn]
    while stack:
        ctx = stack.pop()
        if ctx is None or ctx in seen:
            continue
        seen.add(ctx)
        stack.extend(parent.grad_fn for parent in ctx.parents)
    return {type(ctx) for ctx in seen}


def _public_op_classes() -> list[type]:
    """Every public ``Function`` subclass defined anywhere in ``chainrule`` (ops belong in
    ``chainrule.ops``, but one defined elsewhere must not escape its gradient check)."""
    found = []
    for info in pkgutil.walk_packages(cr.__path__, "chainrule."):
        try:
            module = importlib.import_module(info.name)
        except ImportError as error:  # a part needing an optional package that is absent
            if missing_package(error) is None:
                raise
            continue
        for name, obj in vars(module).items():
            if (isinstance(obj, type) and issubclass(obj, Function) and obj is not Function
                    and not name.startswith("_") and obj.__module__ == module.__name__):
                found.append(obj)
    return found


# ------------------------------------------------------------------ the table itself
def test_every_op_has_a_case():
    ops = _public_op_classes()
    assert {"Add", "MatMul", "CrossEntropy", "Index"} <= {op.__name__ for op in ops}
    covered = {op for case in CASES for op in case.ops}
    missing = sorted(f"{op.__module__}.{op.__name__}" for op in ops if op not in covered)
    assert not missing, f"ops without a case in tests/ops/cases: {missing}"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case_records_the_ops_it_declares(case):
    out = case.fn(*_tensors(case, np.float64), *case.constants)
    missing = set(case.ops) - _recorded_ops(out)
    assert not missing, f"{case.name} declares {sorted(o.__name__ for o in missing)} unrecorded"


def test_kink_ops_document_their_convention():
    for op in {op for case in KINKS for op in case.ops}:
        assert any("NOTE" in (cls.__doc__ or "") for cls in op.__mro__), op.__name__


# ------------------------------------------------------------------ forward
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward_matches_numpy(case, dtype):
    out = case.fn(*_tensors(case, dtype), *case.constants)
    # The reference sees the same (rounded) inputs, so only the op's own error is measured.
    expected = case.ref(*[x.astype(dtype).astype(np.float64) for x in case.inputs],
                        *case.constants)
    assert isinstance(out, cr.Tensor) and isinstance(out.data, np.ndarray)
    assert out.shape == np.shape(expected)
    rtol, atol = case.tol(dtype)
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol)


# ------------------------------------------------------------------ backward
@pytest.mark.parametrize("case", SMOOTH, ids=str)
def test_gradient_matches_central_differences(case):
    inputs = [cr.tensor(x, requires_grad=True) for x in case.inputs]
    assert cr.gradcheck(lambda *xs: case.fn(*xs, *case.constants), *inputs)


def test_every_op_has_a_double_backward_rule():
    missing = sorted(op.__name__ for op in _public_op_classes()
                     if not op.replayable and op.backward_graph is None)
    assert not missing, f"ops without a double-backward rule (create_graph=True): {missing}"


@pytest.mark.parametrize("case", SMOOTH, ids=str)
def test_second_derivative_matches_central_differences(case):
    """Double backward: the gradient of the vector-Jacobian product (random upstream) against
    central differences of it; kink cases are skipped (no second derivative there)."""
    inputs = [cr.tensor(x, requires_grad=True) for x in case.inputs]
    assert cr.gradgradcheck(lambda *xs: case.fn(*xs, *case.constants), *inputs)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", KINKS, ids=str)
def test_gradient_at_kink_is_the_documented_one(case, dtype):
    tensors = _tensors(case, dtype)
    case.fn(*tensors, *case.constants).sum().backward()
    for i, (t, expected) in enumerate(zip(tensors, case.kink_grads)):
        np.testing.assert_allclose(t.grad, expected, rtol=1e-6, err_msg=f"input {i}")


@pytest.mark.parametrize("case", [case for case in CASES if case.keeps_dtype], ids=str)
def test_float32_in_float32_out(case, monkeypatch):
    returned = []  # dtypes of what the backward rules return, before the engine casts them

    for op in case.ops:
        def recording(self, grad, _rule=op.backward):
            grads = _rule(self, grad)
            parts = grads if isinstance(grads, tuple) else (grads,)
            returned.extend((type(self).__name__, g.dtype) for g in parts if g is not None)
            return grads

        monkeypatch.setattr(op, "backward", recording)
    tensors = _tensors(case, np.float32)
    out = case.fn(*tensors, *case.constants)
    assert out.dtype == np.float32
    out.sum().backward()
    assert returned and all(dtype == np.float32 for _, dtype in returned), returned
    for t in tensors:
        assert t.grad is not None and t.grad.dtype == np.float32 and t.grad.shape == t.shape
