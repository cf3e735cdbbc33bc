"""The backward engine: graph shapes (reuse, diamonds, long chains), accumulation, freeing,
grad mode (per thread), version counters, hooks, the shape check that names a wrong op, and
gradients that never alias."""

import threading
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function


def _leaf(values, dtype=np.float64):
    return cr.tensor(np.array(values, dtype=dtype), requires_grad=True)


# ------------------------------------------------------------------ graph shapes
def test_tensor_used_twice_sums_both_paths():
    x = _leaf([1.0, -2.0, 3.0])
    (x * x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data + 1)


def test_same_tensor_twice_in_one_op():
    x = _leaf([1.5, -0.5])
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_diamond_graph():
    # a -> b = 2a, c = exp(a) -> d = b · c; dd/da = 2 e^a + 2a e^a
    a = _leaf([0.5, -1.0])
    b = a * 2
    c = a.exp()
    (b * c).sum().backward()
    np.testing.assert_allclose(a.grad, 2 * np.exp(a.data) * (1 + a.data), rtol=1e-12)


def test_diamond_intermediate_receives_the_sum_before_its_rule_runs():
    # h is consumed twice; its rule (tanh) must run once on the summed gradient.
    x = _leaf([0.3])
    h = x.tanh()
    (h * 3 + h * 4).sum().backward()
    np.testing.assert_allclose(x.grad, 7 * (1 - np.tanh(0.3) ** 2), rtol=1e-12)


def test_unused_input_gets_no_gradient():
    a, b = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    (a * 2).sum().backward()
    assert b.grad is None
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])


def test_input_without_requires_grad_gets_no_gradient():
    a = _leaf([1.0, 2.0])
    c = cr.tensor([3.0, 4.0])
    (a * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


def test_intermediate_tensors_keep_no_grad():
    x = _leaf([1.0, 2.0])
    h = x * 3
    h.sum().backward()
    assert h.grad is None and x.grad is not None


def test_long_chain_backpropagates_without_recursion_error():
    x = _leaf([1.0, 2.0])
    y = x
    for _ in range(100_000):
        y = y + 0.5
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    np.testing.assert_array_equal(y.data, x.data + 50_000)


def test_deterministic():
    def grads():
        cr.manual_seed(3)
        x = _leaf(cr.random.default_generator().normal(size=(4, 5)))
        w = _leaf(cr.random.default_generator().normal(size=(5, 3)))
        ((x @ w).tanh() * x.sum(axis=1, keepdims=True)).softmax().max(axis=0).sum().backward()
        return x.grad, w.grad

    for first, second in zip(grads(), grads()):
        np.testing.assert_array_equal(first, second)


def test_backward_on_a_leaf():
    x = _leaf(2.0)
    x.backward()
    assert isinstance(x.grad, np.ndarray) and x.grad.shape == () and x.grad == 1.0


# ------------------------------------------------------------------ backward's arguments
def test_non_scalar_backward_without_grad_raises():
    x = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"scalar.*\(2,\)"):
        (x * 2).backward()


def test_one_element_non_0d_output_needs_no_grad():
    x = _leaf([[3.0]])
    (x * x).backward()
    np.testing.assert_array_equal(x.grad, [[6.0]])


def test_backward_with_an_explicit_gradient():
    x = _leaf([1.0, 2.0, 3.0])
    (x * x).backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, -6.0])


def test_backward_gradient_of_the_wrong_shape_raises():
    x = _leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward(np.ones(3))


def test_backward_on_a_tensor_without_a_graph_raises():
    with pytest.raises(RuntimeError, match="requires"):
        cr.tensor([1.0]).sum().backward()


# ------------------------------------------------------------------ accumulation and freeing
def test_gradients_accumulate_until_reset():
    x = _leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 3 + 2 * x.data)
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_second_backward_through_a_freed_graph_raises():
    x = _leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


@pytest.mark.parametrize("retain", [False, True])
def test_backward_frees_the_graph_unless_retained(retain):
    x = _leaf(np.ones(3))
    h = x * 2
    y = h.exp()
    node, h_ref = y.grad_fn, weakref.ref(h)
    del h
    y.sum().backward(retain_graph=retain)
    # Freed: the op drops its inputs (and what it saved), so intermediates can be collected.
    assert (node.parents is None) is not retain
    assert (h_ref() is None) is not retain


def test_retain_graph_allows_a_second_backward():
    x = _leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, 4 * x.data)


def test_backward_through_a_shared_subgraph_after_retain():
    x = _leaf([0.5])
    h = x.exp()
    (h * 2).sum().backward(retain_graph=True)
    (h * 3).sum().backward()
    np.testing.assert_allclose(x.grad, 5 * np.exp(0.5), rtol=1e-12)


# ------------------------------------------------------------------ no_grad
def test_no_grad_records_nothing():
    x = _leaf([1.0, 2.0])
    with cr.no_grad():
        y = (x * 2).exp().sum()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert cr.is_grad_enabled()


def test_no_grad_nests_restores_and_survives_exceptions():
    x = _leaf([1.0])
    with pytest.raises(ZeroDivisionError), cr.no_grad():
        with cr.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
        raise ZeroDivisionError
    assert cr.is_grad_enabled() and (x * 2).requires_grad


def test_no_grad_as_decorator():
    @cr.no_grad()
    def infer(t):
        return t * 2

    assert not infer(_leaf([1.0])).requires_grad
    assert cr.is_grad_enabled()


# ------------------------------------------------------------------ the engine's checks
class _WrongShape(Function):
    """y = 2x with a backward that forgets to undo a broadcast."""

    def forward(self, x):
        return 2 * x

    def backward(self, grad):
        return grad.sum(axis=0)


def test_wrong_gradient_shape_names_the_op():
    x = _leaf(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"_WrongShape.*\(3,\).*\(2, 3\)"):
        _WrongShape.apply(x).sum().backward()


def test_gradients_follow_each_inputs_dtype():
    a = _leaf([1.0, 2.0], np.float32)
    b = _leaf([3.0, 4.0], np.float64)
    y = a * b
    assert y.dtype == np.float64  # tensors of different float dtypes promote as NumPy does
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


# ------------------------------------------------------------------ leaf gradients own their memory
def test_leaf_gradients_never_alias_each_other():
    a, b = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    (a + b).sum().backward()
    assert a.grad is not b.grad and not np.shares_memory(a.grad, b.grad)
    a.grad += 10  # optimizers update gradients in place
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_leaf_gradient_does_not_alias_the_given_gradient():
    a, b = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    upstream = np.array([5.0, 6.0])
    (a + b).backward(upstream)
    assert not np.shares_memory(a.grad, upstream) and not np.shares_memory(b.grad, upstream)


@pytest.mark.parametrize("make", [
    lambda x: x.reshape(2, 2).sum(),        # a view of the upstream gradient
    lambda x: x.sum(),                       # a read-only broadcast
    lambda x: cr.concatenate([x[:2], x[2:]]).sum(),  # slices of one array
    lambda x: x.T.sum(),
], ids=["reshape", "sum", "concatenate", "transpose"])
def test_leaf_gradient_is_a_writeable_array_of_its_own(make):
    x = _leaf(np.arange(4.0))
    make(x).backward()
    assert x.grad.flags.writeable and x.grad.flags.owndata
    x.grad *= 2
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0, 2.0])


def test_zero_d_leaf_grad_is_an_ndarray():
    s = _leaf(3.0)
    (s * s).backward()
    (s * 3).backward()
    assert type(s.grad) is np.ndarray and s.grad.shape == () and s.grad == 9.0


def test_indexing_with_repeated_indices_scatter_adds():
    x = _leaf([10.0, 20.0, 30.0])
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])
    x.grad = None
    x[[1, 1]].backward(np.array([2.0, 5.0]))
    np.testing.assert_array_equal(x.grad, [0.0, 7.0, 0.0])


# ------------------------------------------------------------------ grad mode is per thread
def _in_thread(target):
    results = []
    thread = threading.Thread(target=lambda: results.append(target()))
    thread.start()
    thread.join(timeout=10)
    assert results, "the thread did not finish"
    return results[0]


def test_no_grad_in_one_thread_leaves_recording_on_in_another():
    x = _leaf([1.0])
    entered, leave = threading.Event(), threading.Event()

    def infer():
        with cr.no_grad():
            entered.set()
            leave.wait(10)
            return (x * 2).requires_grad

    thread_result = []
    thread = threading.Thread(target=lambda: thread_result.append(infer()))
    thread.start()
    try:
        assert entered.wait(10)
        assert cr.is_grad_enabled() and (x * 2).requires_grad
    finally:
        leave.set()
        thread.join(timeout=10)
    assert thread_result == [False]
    assert (x * 2).requires_grad


def test_a_thread_records_while_the_main_thread_is_in_no_grad():
    x = _leaf([1.0])
    with cr.no_grad():
        assert _in_thread(lambda: cr.is_grad_enabled() and (x * 2).requires_grad)
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_no_grad_decorator_runs_in_several_threads_at_once():
    x = _leaf([1.0])
    barrier = threading.Barrier(4)

    @cr.no_grad()
    def infer():
        barrier.wait(10)  # all four inside the same decorated function at once
        return (x * 2).requires_grad

    threads_results = []
    threads = [threading.Thread(target=lambda: threads_results.append(infer())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert threads_results == [False] * 4
    assert cr.is_grad_enabled() and (x * 2).requires_grad
    assert _in_thread(lambda: (x * 2).requires_grad)


# ------------------------------------------------------------------ version counters
_CHANGED = "changed in place"


def test_changing_a_saved_input_through_data_raises_naming_the_op():
    w = _leaf([1.0, 2.0, 3.0])
    y = (w * w).sum()
    with cr.no_grad():
        w.data += 10  # the data setter runs after the array's in-place add
    with pytest.raises(RuntimeError, match=rf"Mul: its input 0 \(shape \(3,\)\) was {_CHANGED}"):
        y.backward()
    assert w.grad is None  # raised before any rule ran


def _assigned_data():
    w = _leaf([1.0, 2.0])
    y = w.tanh().sum()
    w.data = np.array([5.0, 6.0])  # assigning .data counts as a change
    return y, "Tanh: its input 0"


def _changed_constant():
    w, c = _leaf([1.0, 2.0]), cr.tensor(np.array([3.0, 4.0]))
    y = (w * c).sum()
    with cr.no_grad():
        c *= 2
    return y, "Mul: its input 1"


def _changed_saved_output():
    h = _leaf([0.5, 1.0]).exp()  # Exp's rule reads its output
    y = (h * 2).sum()
    with cr.no_grad():
        h *= 3
    return y, "Exp: its output"


def _changed_root():
    y = _leaf([0.5, 1.0]).exp()
    y.data = y.data * 2
    return y, "Exp: its output"


@pytest.mark.parametrize("case", [_assigned_data, _changed_constant, _changed_saved_output,
                                  _changed_root], ids=lambda case: case.__name__[1:])
def test_a_change_after_the_forward_pass_raises_naming_the_op(case):
    y, message = case()
    with pytest.raises(RuntimeError, match=f"{message}.*{_CHANGED}"):
        y.backward(np.ones(y.shape))


def test_increment_version_marks_a_raw_write():
    w = _leaf([1.0, 2.0])
    y = (w * w).sum()
    np.add(w.data, 10, out=w.data)  # a raw write is not seen by itself...
    cr.autograd.increment_version(w)  # ...until its author says so
    with pytest.raises(RuntimeError, match=_CHANGED):
        y.backward()


def test_a_change_before_the_forward_pass_is_fine():
    w = _leaf([1.0, 2.0])
    with cr.no_grad():
        w += 1
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [4.0, 6.0])


@pytest.mark.parametrize("make", [
    lambda ps: cr.optim.SGD(ps, lr=0.1), lambda ps: cr.optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: cr.optim.Adam(ps), lambda ps: cr.optim.AdamW(ps),
    lambda ps: cr.optim.RMSprop(ps), lambda ps: cr.optim.Adagrad(ps),
], ids=["sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad"])
def test_an_optimizer_step_between_two_backwards_of_one_forward_raises(make):
    cr.manual_seed(0)
    model = cr.nn.Linear(3, 2)
    optimizer = make(model.parameters())
    x = cr.tensor(np.ones((4, 3), dtype=np.float32))
    loss = (model(x) ** 2).mean()
    loss.backward(retain_graph=True)
    optimizer.step()
    with pytest.raises(RuntimeError, match=f"Linear: its input 1.*{_CHANGED}"):
        loss.backward()


def test_training_steps_raise_nothing():
    cr.manual_seed(0)
    model = cr.nn.Linear(3, 1)
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    x = cr.tensor(np.ones((4, 3), dtype=np.float32))
    for _ in range(3):
        optimizer.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        optimizer.step()
    assert loss.item() > 0


# ------------------------------------------------------------------ hooks
def test_register_hook_sees_and_may_replace_the_gradient_until_removed():
    x = _leaf([1.0, 2.0])
    h = x * 3
    seen = []
    handle = h.register_hook(lambda g: seen.append(g.copy()) or g * 10)
    h.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(seen[0], [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [30.0, 30.0])
    handle.remove()
    x.grad = None
    h.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    assert len(seen) == 1


def test_post_accumulate_grad_hook_runs_once_with_the_final_gradient():
    w = _leaf([1.0, 2.0])
    calls = []
    w.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad.copy()))
    (w * w + w * 3 + w).sum().backward()  # three ops add to w.grad
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], 2 * w.data + 4)
    np.testing.assert_array_equal(w.grad, calls[0])


def test_post_accumulate_grad_hook_runs_while_backward_goes_on():
    # y = w2 · tanh(w1 x): w2's gradient is final before backward reaches w1.
    x = cr.tensor(np.array([0.5, -1.0]))
    w1, w2 = _leaf([0.3, 0.7]), _leaf([2.0, -1.0])
    w1_grad_when_w2_was_final = []
    w2.register_post_accumulate_grad_hook(
        lambda p: w1_grad_when_w2_was_final.append(w1.grad))
    (w2 * (w1 * x).tanh()).sum().backward()
    assert w1_grad_when_w2_was_final == [None] and w1.grad is not None


def test_post_accumulate_grad_hook_runs_in_each_backward_until_removed():
    w = _leaf([1.0])
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda p: calls.append(p))
    (w * 2).sum().backward()
    w.backward()  # backward on the leaf itself
    assert calls == [w, w]
    handle.remove()
    (w * 2).sum().backward()
    assert len(calls) == 2


def test_post_accumulate_grad_hook_is_for_leaves_that_require_grad():
    with pytest.raises(RuntimeError, match="leaf"):
        (_leaf([1.0]) * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="leaf"):
        cr.tensor([1.0]).register_post_accumulate_grad_hook(print)


# ------------------------------------------------------------------ reading the graph
def test_recorded_ops_lists_the_ops_since_a_mark_in_creation_order():
    x = _leaf([1.0, 2.0])
    before = x * 2
    mark = cr.autograd.creation_mark()
    y = (before.exp() + x).sum()
    recorded = cr.autograd.recorded_ops(y, since=mark)
    assert [op.name for _, op in recorded] == ["Exp", "Add", "Sum"]
    assert recorded[-1][0] is y and all(t.grad_fn is op for t, op in recorded)
    assert [op.name for _, op in cr.autograd.recorded_ops(y, since=-1)][0] == "Mul"


def test_an_op_prints_as_its_backward():
    y = _leaf([1.0]).tanh()
    assert repr(y.grad_fn) == "<TanhBackward>" and y.grad_fn.name == "Tanh"
