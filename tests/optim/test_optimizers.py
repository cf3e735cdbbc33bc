"""Optimizers: one or two steps against the hand-written formula, groups, state dicts, dtypes,
in-place updates without allocations, validation and the name lookup."""

import json
import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import Parameter
from chainrule.optim import SGD, Adagrad, Adam, AdamW, RMSprop

# every optimizer with every option switched on, and plainly
CONFIGS = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (Adam, {"lr": 0.01}),
    (Adam, {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    (AdamW, {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    (RMSprop, {"lr": 0.01}),
    (RMSprop, {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    (Adagrad, {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1,
               "initial_accumulator_value": 0.5}),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(CONFIGS)]

THETA = np.array([[0.5, -1.0, 2.0], [0.0, 1.5, -0.3]])
G1 = np.array([[0.2, -0.4, 1.0], [-0.7, 0.05, 0.3]])
G2 = np.array([[-0.1, 0.6, 0.2], [0.4, -0.2, 0.9]])


def _run(cls, grads, **kwargs):
    """Apply one step per gradient to a float64 copy of THETA; return the parameter."""
    p = Parameter(THETA.copy())
    opt = cls([p], **kwargs)
    for g in grads:
        p.grad = g.copy()
        opt.step()
    return p


def _grad_fn(theta):
    """A gradient that depends on the weights, so trajectories feed back."""
    return np.tanh(theta) * 0.5 + theta ** 3 * 0.1 - 0.2


def _train(opt, params, steps):
    for _ in range(steps):
        for p in params:
            p.grad = _grad_fn(p.data)
        opt.step()


def _params(dtype=np.float64):
    rng = np.random.default_rng(0)
    return [Parameter(rng.normal(size=(4, 3)).astype(dtype)),
            Parameter(rng.normal(size=(3,)).astype(dtype))]


# ---------------------------------------------------------------- formulas
def test_sgd_plain_and_weight_decay():
    np.testing.assert_allclose(_run(SGD, [G1], lr=0.1).data, THETA - 0.1 * G1, rtol=1e-15)
    expected = THETA - 0.1 * (G1 + 0.01 * THETA)
    np.testing.assert_allclose(_run(SGD, [G1], lr=0.1, weight_decay=0.01).data, expected,
                               rtol=1e-15)


def test_sgd_momentum_with_dampening_two_steps():
    lr, mu, tau = 0.1, 0.9, 0.3
    b = G1  # the first step takes the gradient undampened
    theta1 = THETA - lr * b
    b = mu * b + (1 - tau) * G2
    theta2 = theta1 - lr * b
    p = _run(SGD, [G1, G2], lr=lr, momentum=mu, dampening=tau)
    np.testing.assert_allclose(p.data, theta2, rtol=1e-14)


def test_sgd_nesterov_with_weight_decay_two_steps():
    lr, mu, lam = 0.1, 0.9, 0.01
    d1 = G1 + lam * THETA
    b = d1
    theta1 = THETA - lr * (d1 + mu * b)
    d2 = G2 + lam * theta1
    b = mu * b + d2
    theta2 = theta1 - lr * (d2 + mu * b)
    p = _run(SGD, [G1, G2], lr=lr, momentum=mu, nesterov=True, weight_decay=lam)
    np.testing.assert_allclose(p.data, theta2, rtol=1e-14)


def _adam_reference(grads, lr, b1, b2, eps, wd, amsgrad, decoupled):
    theta, m, v, vmax = THETA.copy(), 0.0, 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        if decoupled:
            theta = theta * (1 - lr * wd)
        else:
            g = g + wd * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1 ** t)
        v_hat = (vmax if amsgrad else v) / (1 - b2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


@pytest.mark.parametrize("cls,wd,amsgrad", [(Adam, 0.0, False), (Adam, 0.1, True),
                                            (AdamW, 0.1, False), (AdamW, 0.1, True)])
def test_adam_and_adamw_two_steps(cls, wd, amsgrad):
    # G2 after G1 lowers v for some coordinates, which AMSGrad must ignore
    grads = [G1, G2 * 0.1]
    p = _run(cls, grads, lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=wd, amsgrad=amsgrad)
    expected = _adam_reference(grads, 0.01, 0.8, 0.9, 1e-6, wd, amsgrad, cls is AdamW)
    np.testing.assert_allclose(p.data, expected, rtol=1e-13)
    other = _adam_reference(grads, 0.01, 0.8, 0.9, 1e-6, wd, not amsgrad, cls is AdamW)
    assert not np.allclose(p.data, other, rtol=1e-9)  # the option made a difference


def test_adam_first_step_moves_by_lr():
    # bias correction makes the first step exactly lr·sign(g) up to eps
    p = _run(Adam, [G1], lr=0.01, eps=0.0)
    np.testing.assert_allclose(p.data, THETA - 0.01 * np.sign(G1), rtol=1e-13)


@pytest.mark.parametrize("centered,momentum,wd", [(False, 0.0, 0.0), (True, 0.0, 0.0),
                                                  (False, 0.9, 0.1), (True, 0.5, 0.1)])
def test_rmsprop_two_steps(centered, momentum, wd):
    lr, alpha, eps = 0.01, 0.9, 1e-8
    theta, s, gbar, b = THETA.copy(), 0.0, 0.0, 0.0
    for g in (G1, G2):
        g = g + wd * theta
        s = alpha * s + (1 - alpha) * g * g
        gbar = alpha * gbar + (1 - alpha) * g
        r = np.sqrt(s - gbar ** 2 if centered else s) + eps
        if momentum:
            b = momentum * b + g / r
            theta = theta - lr * b
        else:
            theta = theta - lr * g / r
    p = _run(RMSprop, [G1, G2], lr=lr, alpha=alpha, eps=eps, momentum=momentum,
             centered=centered, weight_decay=wd)
    np.testing.assert_allclose(p.data, theta, rtol=1e-13)


def test_adagrad_three_steps_with_decay_and_initial_value():
    lr, delta, lam, g0, eps = 0.1, 0.5, 0.1, 0.25, 1e-10
    theta, acc = THETA.copy(), np.full_like(THETA, g0)
    for t, g in enumerate((G1, G2, G1), start=1):
        g = g + lam * theta
        acc = acc + g * g
        theta = theta - lr / (1 + (t - 1) * delta) * g / (np.sqrt(acc) + eps)
    p = _run(Adagrad, [G1, G2, G1], lr=lr, lr_decay=delta, weight_decay=lam,
             initial_accumulator_value=g0, eps=eps)
    np.testing.assert_allclose(p.data, theta, rtol=1e-13)


def test_update_functions_work_without_an_optimizer():
    theta, m, v = THETA.copy(), np.zeros_like(THETA), np.zeros_like(THETA)
    cr.optim.adam_update(theta, G1, m, v, step=1, lr=0.01, eps=0.0)
    np.testing.assert_allclose(theta, THETA - 0.01 * np.sign(G1), rtol=1e-13)
    theta = THETA.copy()
    assert cr.optim.sgd_update(theta, G1, None, lr=0.5) is None
    np.testing.assert_allclose(theta, THETA - 0.5 * G1)
    scalar = np.array(2.0)  # 0-d parameters work too
    cr.optim.rmsprop_update(scalar, np.array(1.0), np.zeros(()), lr=0.1, alpha=0.0, eps=0.0)
    assert scalar.shape == () and scalar == pytest.approx(1.9)


# ---------------------------------------------------------------- mechanics
def test_chainrule_autograd_and_adam_solve_least_squares():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.3 + rng.normal(scale=0.1, size=40)
    w, b = Parameter(np.zeros(3)), Parameter(np.zeros(()))
    opt = Adam([w, b], lr=0.05)
    for _ in range(600):
        opt.zero_grad()
        loss = ((cr.tensor(x) @ w + b - y) ** 2).mean()
        loss.backward()
        opt.step()
    solution = np.linalg.lstsq(np.c_[x, np.ones(40)], y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[w.data, b.data], solution, atol=1e-4)


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=IDS)
def test_float32_stays_float32_in_place(cls, kwargs):
    params = _params(np.float32)
    arrays = [p.data for p in params]
    view = params[0].data[0]
    opt = cls(params, **{**kwargs, "lr": np.float64(kwargs["lr"])})  # a NumPy lr must not upcast
    _train(opt, params, 3)
    assert all(p.data is a for p, a in zip(params, arrays))  # updated in place, never rebound
    assert np.shares_memory(view, params[0].data) and view[0] == params[0].data[0, 0]
    for p in params:
        assert p.data.dtype == np.float32
        for name, value in opt.state[p].items():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32, name
    # and the float32 run follows the float64 run
    reference = _params(np.float64)
    _train(cls(reference, **kwargs), reference, 3)
    for p, r in zip(params, reference):
        np.testing.assert_allclose(p.data, r.data, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=IDS)
def test_steps_allocate_nothing_after_the_first(cls, kwargs):
    param = Parameter(np.random.default_rng(0).normal(size=(256, 256)).astype(np.float32))
    grad = np.full(param.shape, 0.01, np.float32)
    opt = cls([param], **kwargs)
    param.grad = grad
    opt.step()
    tracemalloc.start()
    try:
        opt.step()
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < param.data.nbytes / 16, f"{peak} bytes allocated per step"


def test_parameters_without_grad_are_skipped():
    a, b = _params()
    before = b.data.copy()
    opt = Adam([a, b], lr=0.1)
    a.grad = np.ones_like(a.data)
    opt.step()
    np.testing.assert_array_equal(b.data, before)
    assert b not in opt.state and opt.state[a]["step"] == 1


def test_gradient_of_wrong_shape_is_named():
    a, _ = _params()
    a.grad = np.ones((3, 4))
    with pytest.raises(ValueError, match=r"SGD.step: a parameter of shape \(4, 3\) has a "
                                         r"gradient of shape \(3, 4\)"):
        SGD([a], lr=0.1).step()


def test_zero_grad_to_none_or_zeros_in_place():
    a, b = _params()
    opt = SGD([a, b], lr=0.1)
    a.grad, b.grad = np.ones_like(a.data), None
    grad = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and not grad.any() and b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_closure_is_called_and_its_loss_returned():
    a, _ = _params()
    opt = SGD([a], lr=0.1)

    def closure():
        a.grad = np.ones_like(a.data)
        return 7.0

    before = a.data.copy()
    assert opt.step(closure) == 7.0
    np.testing.assert_allclose(a.data, before - 0.1)


# ---------------------------------------------------------------- groups
def test_param_groups_have_their_own_settings():
    a, b = _params()
    a0, b0 = a.data.copy(), b.data.copy()
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[0]["momentum"] == 0.0 and opt.param_groups[1]["momentum"] == 0.9
    a.grad, b.grad = np.ones_like(a0), np.ones_like(b0)
    opt.step()
    opt.step()
    np.testing.assert_allclose(a.data, a0 - 0.2)
    np.testing.assert_allclose(b.data, b0 - 0.5 - 0.5 * 1.9)  # momentum 1 then 0.9 + 1
    assert "momentum_buffer" not in opt.state[a]


def test_add_param_group_and_its_errors():
    a, b = _params()
    opt = Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "betas": (0.5, 0.6)})
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[1]["betas"] == (0.5, 0.6)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="same parameter twice"):
        SGD([a, a], lr=0.1)
    with pytest.raises(TypeError, match="ordered collection"):
        SGD({a}, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        SGD([a.data], lr=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        SGD([cr.tensor([1, 2])], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: betas\\[0\\] must be in \\[0.0, 1.0\\)"):
        opt.add_param_group({"params": [Parameter([1.0])], "betas": (1.0, 0.5)})
    assert len(opt.param_groups) == 2


@pytest.mark.parametrize("cls,kwargs,message", [
    (SGD, {"lr": -0.1}, r"SGD: lr must be in \[0.0, inf\), got -0.1"),
    (SGD, {"lr": "0.1"}, r"SGD: lr must be a finite real number, got '0.1'"),
    (SGD, {"lr": float("nan")}, "SGD: lr must be a finite real number"),
    (SGD, {"lr": float("inf")}, "SGD: lr must be a finite real number, got inf"),
    (Adam, {"lr": float("inf")}, "Adam: lr must be a finite real number"),
    (RMSprop, {"eps": float("inf")}, "RMSprop: eps must be a finite real number"),
    (SGD, {"momentum": 1.5}, r"SGD: momentum must be in \[0.0, 1.0\]"),
    (SGD, {"dampening": -0.1}, "SGD: dampening"),
    (SGD, {"weight_decay": -1}, "SGD: weight_decay"),
    (SGD, {"nesterov": True}, "Nesterov momentum requires momentum > 0 and dampening 0"),
    (SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "dampening 0"),
    (Adam, {"betas": (0.9, 1.0)}, r"Adam: betas\[1\] must be in \[0.0, 1.0\), got 1.0"),
    (Adam, {"betas": (-0.1, 0.9)}, r"betas\[0\]"),
    (Adam, {"betas": 0.9}, "betas must be a pair"),
    (AdamW, {"eps": -1e-8}, "AdamW: eps"),
    (RMSprop, {"alpha": 1.1}, "RMSprop: alpha"),
    (RMSprop, {"momentum": -0.5}, "RMSprop: momentum"),
    (Adagrad, {"lr_decay": -1.0}, "Adagrad: lr_decay"),
    (Adagrad, {"initial_accumulator_value": -1.0}, "Adagrad: initial_accumulator_value"),
])
def test_invalid_hyperparameters_are_named(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(_params(), **kwargs)


# ---------------------------------------------------------------- state dicts
@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=IDS)
def test_state_dict_round_trip_continues_bitwise(cls, kwargs):
    params = _params(np.float32)
    opt = cls([{"params": params[:1]}, {"params": params[1:], "lr": kwargs["lr"] / 2}], **kwargs)
    _train(opt, params, 4)
    saved = opt.state_dict()
    weights = [p.data.copy() for p in params]
    _train(opt, params, 4)

    clones = [Parameter(w) for w in weights]
    fresh = cls([{"params": clones[:1]}, {"params": clones[1:]}], **kwargs)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[1]["lr"] == kwargs["lr"] / 2  # hyperparameters come back too
    _train(fresh, clones, 4)
    for p, c in zip(params, clones):
        np.testing.assert_array_equal(p.data, c.data)


def test_state_dict_layout_is_pytorchs_and_holds_copies():
    a, b = _params()
    opt = Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, amsgrad=True)
    a.grad = np.ones_like(a.data)
    opt.step()
    state = opt.state_dict()
    assert state["param_groups"] == [
        {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": True,
         "params": [0]},
        {"lr": 0.5, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": True,
         "params": [1]},
    ]
    assert list(state["state"]) == [0]  # b had no gradient, so no state
    entry = state["state"][0]
    assert sorted(entry) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert entry["step"] == 1 and type(entry["step"]) is int
    np.testing.assert_allclose(entry["exp_avg"], 0.1)
    opt.step()
    np.testing.assert_allclose(entry["exp_avg"], 0.1)  # a copy, not the live buffer


def test_state_dict_survives_plain_formats():
    # a checkpoint may keep numbers as 0-d arrays, keys as strings and tuples as lists
    params = _params(np.float32)
    opt = Adam(params, lr=0.01)
    _train(opt, params, 2)
    saved = opt.state_dict()
    stored = {
        "state": {str(i): {k: np.asarray(v).astype(np.float64) if k != "step" else np.asarray(v)
                           for k, v in entry.items()} for i, entry in saved["state"].items()},
        "param_groups": json.loads(json.dumps(saved["param_groups"])),
    }
    fresh = Adam([Parameter(p.data) for p in params], lr=0.5)
    fresh.load_state_dict(stored)
    restored = fresh.state_dict()
    assert restored["param_groups"] == saved["param_groups"]
    for i, entry in saved["state"].items():
        assert restored["state"][i]["step"] == 2 and type(restored["state"][i]["step"]) is int
        assert restored["state"][i]["exp_avg"].dtype == np.float32
        np.testing.assert_array_equal(restored["state"][i]["exp_avg"], entry["exp_avg"])


def test_load_state_dict_rejects_mismatches():
    a, b = _params()
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad = np.ones_like(a.data)
    opt.step()
    saved = opt.state_dict()
    with pytest.raises(ValueError, match="1 parameter groups, the optimizer 2"):
        SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="group 0 has 2 parameters in the state, 1"):
        SGD([a], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"'momentum_buffer' of parameter 0 has shape \(4, 3\), "
                                         r"the parameter \(3,\)"):
        SGD([b, a], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


# ---------------------------------------------------------------- lookup
def test_get_resolves_names_classes_and_instances():
    a, _ = _params()
    opt = cr.optim.get("Adam", [a], lr=0.5)
    assert type(opt) is Adam and opt.param_groups[0]["lr"] == 0.5
    assert type(cr.optim.get("adamw", [a])) is AdamW
    assert type(cr.optim.get("RMSProp", [a])) is RMSprop
    assert type(cr.optim.get(Adagrad, [a])) is Adagrad
    assert cr.optim.get(opt) is opt
    with pytest.raises(ValueError, match="unknown optimizer 'adamx'; expected one of sgd, adam"):
        cr.optim.get("adamx", [a])
    with pytest.raises(ValueError, match="already built Adam"):
        cr.optim.get(opt, lr=0.1)
    with pytest.raises(TypeError, match="needs the parameters"):
        cr.optim.get("sgd")
    with pytest.raises(TypeError, match="expected an optimizer name"):
        cr.optim.get(3, [a])


def test_repr_lists_groups():
    text = repr(SGD(_params(), lr=0.1, momentum=0.9))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    momentum: 0.9" in text


def test_shared_scratch_grows_with_larger_parameters():
    # small, larger, small again: the work buffer is regrown and its views rebuilt
    shapes = [(2,), (3, 5), (2,), (7, 4)]
    params = [Parameter(np.full(s, 1.0)) for s in shapes]
    opt = SGD(params, lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.1)
    for _ in range(2):
        for p in params:
            p.grad = np.full(p.shape, 2.0)
        opt.step()
    theta, b = 1.0, 0.0
    for step in range(2):
        d = 2.0 + 0.1 * theta
        b = d if step == 0 else 0.5 * b + d
        theta -= 0.1 * (d + 0.5 * b)
    for p in params:
        np.testing.assert_allclose(p.data, theta, rtol=1e-14)


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=IDS)
def test_column_major_parameters_step_exactly_like_row_major_ones(cls, kwargs):
    # nn.Linear keeps its weight column-major; work arrays must follow each parameter's layout.
    rows = _params()
    columns = [Parameter(np.asfortranarray(p.data)) for p in rows]
    both = cls(rows + columns, **kwargs)  # one optimizer, one shared workspace, both layouts
    view = columns[0].data[:, 1]
    _train(both, rows + columns, 3)
    for r, c in zip(rows, columns):
        np.testing.assert_array_equal(c.data, r.data)
    assert columns[0].data.flags.f_contiguous and not columns[0].data.flags.c_contiguous
    assert np.shares_memory(view, columns[0].data)  # updated in place
    work = both._scratch(columns[0].data)
    assert all(w.flags.f_contiguous and not w.flags.c_contiguous for w in work)


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=IDS)
def test_restored_state_keeps_each_parameters_layout(cls, kwargs):
    # state_dict() hands out row-major copies; a restored buffer of a column-major Linear weight
    # must be column-major again, or every later step mixes layouts (~10x slower).
    linear = cr.nn.Linear(5, 3, generator=0)
    source = cls(linear.parameters(), **kwargs)
    _train(source, list(linear.parameters()), 2)
    restored = cls(linear.parameters(), **kwargs)
    restored.load_state_dict(source.state_dict())
    for name, value in restored.state[linear.weight].items():
        if isinstance(value, np.ndarray) and value.ndim == 2:
            assert value.flags.f_contiguous and not value.flags.c_contiguous, name
            np.testing.assert_array_equal(value, source.state[linear.weight][name])
