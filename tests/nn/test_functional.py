"""``cr.nn.functional`` is the one layer that checks arguments: every function of the core
families refuses a non-tensor naming itself, and a layer that calls one is named instead."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

X = np.ones((2, 3), dtype=np.float32)
# (function, the arguments after the input) for every function of the core families
CALLS = [
    (F.relu, ()), (F.sigmoid, ()), (F.tanh, ()), (F.leaky_relu, ()), (F.elu, ()), (F.gelu, ()),
    (F.softplus, ()), (F.softmax, ()), (F.log_softmax, ()), (F.dropout, ()),
    (F.linear, (cr.tensor(X),)), (F.mse_loss, (X,)), (F.l1_loss, (X,)), (F.huber_loss, (X,)),
    (F.binary_cross_entropy, (X,)), (F.binary_cross_entropy_with_logits, (X,)),
    (F.cross_entropy, ([0, 1],)), (F.nll_loss, ([0, 1],)),
]


@pytest.mark.parametrize("fn, rest", CALLS, ids=[fn.__name__ for fn, _ in CALLS])
def test_a_non_tensor_input_is_refused_by_name(fn, rest):
    with pytest.raises(TypeError, match=f"^{fn.__name__}: expected a Tensor, got ndarray; wrap "
                                        r"arrays with cr.tensor\(x\)$"):
        fn(X, *rest)


def test_the_innermost_layer_is_named():
    model = cr.nn.Sequential(cr.nn.Linear(3, 3), cr.nn.Sequential(cr.nn.GELU()))
    with pytest.raises(TypeError, match=r"^GELU\(approximate='none'\): expected a Tensor"):
        model[1](X)
    with pytest.raises(ValueError, match=r"^Linear\(in_features=3, out_features=3, bias=True\): "
                                         r"expected input of shape \(\.\.\., 3\), got \(2, 4\)"):
        model(cr.tensor(np.ones((2, 4), np.float32)))


def test_every_name_of_the_package_is_exported():
    assert set(F.__all__) <= set(dir(F))
    assert {fn.__name__ for fn, _ in CALLS} <= set(F.__all__)
