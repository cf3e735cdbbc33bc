"""Learning-rate schedulers: hand values, torch's sequences, state dicts, validation."""

import json
import math

import numpy as np
import pytest
from optional_packages import importorskip

from chainrule.nn import Parameter
from chainrule.optim import SGD, Adagrad, Adam
from chainrule.optim import lr_scheduler as sched

LRS = (0.1, 0.03)  # two parameter groups with different rates


def _sgd(momentum=0.9, lrs=LRS):
    groups = [{"params": [Parameter(np.zeros(2, np.float32))], "lr": lr} for lr in lrs]
    return SGD(groups, lr=lrs[0], momentum=momentum)


def _rates(scheduler, steps, metrics=None):
    """The rates in force at each of ``steps`` steps (read before stepping, as a loop would)."""
    rates = []
    for i in range(steps):
        rates.append(scheduler.get_last_lr())
        scheduler.optimizer.step()
        scheduler.step(*([] if metrics is None else [metrics[i]]))
    return rates


def test_step_and_multistep_by_hand():
    rates = _rates(sched.StepLR(_sgd(), step_size=3, gamma=0.5), 7)
    assert [r[0] for r in rates] == pytest.approx([0.1] * 3 + [0.05] * 3 + [0.025])
    rates = _rates(sched.MultiStepLR(_sgd(), milestones=[4, 2, 4], gamma=0.1), 6)
    assert [r[1] for r in rates] == pytest.approx([0.03] * 2 + [0.003] * 2 + [0.00003] * 2)


def test_cosine_linear_and_exponential_by_hand():
    rates = _rates(sched.CosineAnnealingLR(_sgd(), T_max=4, eta_min=0.01), 9)
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(9)]
    assert [r[0] for r in rates] == pytest.approx(expected, rel=1e-12)
    assert rates[4][0] == pytest.approx(0.01) and rates[8][0] == pytest.approx(0.1)
    rates = _rates(sched.LinearLR(_sgd(), start_factor=0.25, total_iters=3), 5)
    assert [r[0] for r in rates] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])
    rates = _rates(sched.ExponentialLR(_sgd(), gamma=0.5), 3)
    assert rates == [pytest.approx([0.1, 0.03]), pytest.approx([0.05, 0.015]),
                     pytest.approx([0.025, 0.0075])]


def test_one_cycle_by_hand_moves_momentum_against_the_rate():
    opt = _sgd()
    scheduler = sched.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="linear",
                                 div_factor=10.0, final_div_factor=100.0)
    rates, momenta = [], []
    for _ in range(10):
        rates.append(scheduler.get_last_lr()[0])
        momenta.append(opt.param_groups[0]["momentum"])
        opt.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.1) and rates[2] == pytest.approx(1.0)  # peak at 30% - 1
    assert rates[-1] == pytest.approx(0.001)
    assert momenta[0] == pytest.approx(0.95) and momenta[2] == pytest.approx(0.85)
    assert momenta[-1] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="stepped 11 times, but total_steps is 10"):
        scheduler.step()


def test_reduce_on_plateau_by_hand():
    opt = _sgd()
    scheduler = sched.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1,
                                        min_lr=[0.02, 0.0])
    losses = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]
    rates = [r[0] for r in _rates(scheduler, len(losses), losses)] + [scheduler.get_last_lr()[0]]
    # two bad epochs reduce; the cooldown epoch does not count; the rate stops at min_lr
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025])
    for _ in range(6):
        scheduler.step(1.0)
    assert scheduler.get_last_lr() == [0.02, pytest.approx(0.03 / 2 ** 4)]
    assert scheduler.best == 0.9 and type(scheduler.get_last_lr()[0]) is float


def test_sequential_warm_up_then_cosine():
    opt = _sgd()
    warm = sched.LinearLR(opt, start_factor=0.1, total_iters=3)
    cosine = sched.CosineAnnealingLR(opt, T_max=4)
    scheduler = sched.SequentialLR(opt, [warm, cosine], milestones=[3])
    rates = [r[0] for r in _rates(scheduler, 8)]
    assert rates == pytest.approx([0.01, 0.04, 0.07, 0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2,
                                   0.05, 0.1 * (1 - math.cos(math.pi / 4)) / 2, 0.0], abs=1e-15)


def test_rates_are_python_floats_and_float32_stays():
    p = Parameter(np.ones(3, np.float32))
    opt = Adam([p], lr=0.1)
    scheduler = sched.CosineAnnealingLR(opt, T_max=5)
    for _ in range(3):
        p.grad = np.ones(3, np.float32)
        opt.step()
        scheduler.step()
    assert type(opt.param_groups[0]["lr"]) is float and p.data.dtype == np.float32


# ---------------------------------------------------------------- against torch
def _torch_sgd(torch, momentum=0.9, lrs=LRS, cls_name="SGD"):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    if cls_name == "SGD":
        return torch.optim.SGD(groups, lr=lrs[0], momentum=momentum)
    return getattr(torch.optim, cls_name)(groups, lr=lrs[0])


SCHEDULES = [
    ("StepLR", {"step_size": 4, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [3, 7, 7, 15], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.005}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 12}),
    ("OneCycleLR", {"max_lr": [1.0, 0.5], "total_steps": 30}),
    ("OneCycleLR", {"max_lr": 0.4, "epochs": 3, "steps_per_epoch": 10, "pct_start": 0.25,
                    "anneal_strategy": "linear", "three_phase": True}),
    ("OneCycleLR", {"max_lr": 0.4, "total_steps": 30, "cycle_momentum": False}),
]


@pytest.mark.parametrize("name,kwargs", SCHEDULES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_sequence_matches_torch(name, kwargs):
    torch = importorskip("torch")
    opt, ref_opt = _sgd(), _torch_sgd(torch)
    ours = getattr(sched, name)(opt, **kwargs)
    ref = getattr(torch.optim.lr_scheduler, name)(ref_opt, **kwargs)
    steps = 30 if name == "OneCycleLR" else 25
    for step in range(steps):
        assert ours.get_last_lr() == pytest.approx(ref.get_last_lr(), rel=1e-10, abs=1e-15), step
        for group, ref_group in zip(opt.param_groups, ref_opt.param_groups):
            assert group["momentum"] == pytest.approx(ref_group["momentum"], rel=1e-12), step
        opt.step()
        ref_opt.step()
        ours.step()
        ref.step()


def test_one_cycle_cycles_adams_beta1_like_torch():
    torch = importorskip("torch")
    opt = Adam([{"params": [Parameter(np.zeros(2))], "lr": lr} for lr in LRS])
    ref_opt = _torch_sgd(torch, cls_name="Adam")
    ours = sched.OneCycleLR(opt, max_lr=0.01, total_steps=20)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=0.01, total_steps=20)
    for step in range(20):
        assert ours.get_last_lr() == pytest.approx(ref.get_last_lr(), rel=1e-10)
        beta1, ref_beta1 = opt.param_groups[0]["betas"][0], ref_opt.param_groups[0]["betas"][0]
        assert beta1 == pytest.approx(ref_beta1, rel=1e-12), step
        assert opt.param_groups[0]["betas"][1] == 0.999
        opt.step()
        ref_opt.step()
        ours.step()
        ref.step()


@pytest.mark.parametrize("kwargs", [
    {"patience": 2},
    {"mode": "max", "factor": 0.5, "patience": 0, "threshold": 0.1, "threshold_mode": "abs",
     "cooldown": 2},
    {"factor": 0.3, "patience": 1, "min_lr": [0.05, 0.001], "threshold_mode": "rel"},
])
def test_reduce_on_plateau_matches_torch(kwargs):
    torch = importorskip("torch")
    metrics = np.random.default_rng(0).normal(size=40).cumsum() * 0.1
    metrics[10:20] = metrics[9]  # a plateau
    opt, ref_opt = _sgd(), _torch_sgd(torch)
    ours = sched.ReduceLROnPlateau(opt, **kwargs)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(ref_opt, **kwargs)
    for metric in metrics:
        ours.step(float(metric))
        ref.step(float(metric))
        assert ours.get_last_lr() == pytest.approx(ref.get_last_lr(), rel=1e-12)
    assert ours.get_last_lr()[0] < LRS[0]  # the sequence did reduce, so the test compares rules


def test_sequential_matches_torch():
    torch = importorskip("torch")
    opt, ref_opt = _sgd(), _torch_sgd(torch)
    ours = sched.SequentialLR(opt, [sched.LinearLR(opt, start_factor=0.2, total_iters=4),
                                    sched.ExponentialLR(opt, gamma=0.8),
                                    sched.CosineAnnealingLR(opt, T_max=6)], milestones=[4, 9])
    lr = torch.optim.lr_scheduler
    ref = lr.SequentialLR(ref_opt, [lr.LinearLR(ref_opt, start_factor=0.2, total_iters=4),
                                    lr.ExponentialLR(ref_opt, gamma=0.8),
                                    lr.CosineAnnealingLR(ref_opt, T_max=6)], milestones=[4, 9])
    for step in range(20):
        assert ours.get_last_lr() == pytest.approx(ref.get_last_lr(), rel=1e-10, abs=1e-15), step
        opt.step()
        ref_opt.step()
        ours.step()
        ref.step()


# ---------------------------------------------------------------- state dicts
def _build(name):
    opt = _sgd()
    if name == "SequentialLR":
        parts = [sched.LinearLR(opt, total_iters=3), sched.StepLR(opt, step_size=2)]
        return opt, sched.SequentialLR(opt, parts, milestones=[3])
    kwargs = {"StepLR": {"step_size": 2}, "MultiStepLR": {"milestones": [2, 5]},
              "ExponentialLR": {"gamma": 0.9}, "CosineAnnealingLR": {"T_max": 6},
              "LinearLR": {"total_iters": 8}, "OneCycleLR": {"max_lr": 0.5, "total_steps": 20},
              "ReduceLROnPlateau": {"patience": 0, "factor": 0.5}}[name]
    return opt, getattr(sched, name)(opt, **kwargs)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                                  "LinearLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR"])
def test_state_dict_is_plain_and_resumes_exactly(name):
    metrics = [1.0, 0.5, 0.6, 0.7, 0.4, 0.45, 0.5, 0.2, 0.3, 0.3, 0.3, 0.3]
    plateau = name == "ReduceLROnPlateau"
    opt, scheduler = _build(name)
    first = _rates(scheduler, 5, metrics[:5] if plateau else None)
    saved_opt = opt.state_dict()
    saved = json.loads(json.dumps(scheduler.state_dict()))  # plain numbers, strings and lists
    rest = _rates(scheduler, 7, metrics[5:] if plateau else None)

    opt2, scheduler2 = _build(name)
    opt2.load_state_dict(saved_opt)
    scheduler2.load_state_dict(saved)
    assert _rates(scheduler2, 7, metrics[5:] if plateau else None) == rest
    assert opt2.param_groups[0]["momentum"] == opt.param_groups[0]["momentum"]
    assert len({r[0] for r in first + rest}) > 1  # the schedule did change the rate


def test_loading_restores_the_rate_whatever_the_order():
    _opt, scheduler = _build("StepLR")
    _rates(scheduler, 5)
    saved = scheduler.state_dict()
    opt2, scheduler2 = _build("StepLR")
    scheduler2.load_state_dict(saved)  # without loading the optimizer's state
    assert [g["lr"] for g in opt2.param_groups] == scheduler.get_last_lr()
    with pytest.raises(ValueError, match=r"missing keys \['gamma'\], unexpected keys \['x'\]"):
        scheduler2.load_state_dict({**{k: v for k, v in saved.items() if k != "gamma"}, "x": 1})


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("build,message", [
    (lambda o: sched.StepLR(o, step_size=0), "StepLR: step_size must be an integer >= 1, got 0"),
    (lambda o: sched.StepLR(o, step_size=2, gamma=-1), r"StepLR: gamma must be in \[0.0"),
    (lambda o: sched.MultiStepLR(o, milestones=[1, -2]), "MultiStepLR: each milestone"),
    (lambda o: sched.CosineAnnealingLR(o, T_max=2.5), "T_max must be an integer"),
    (lambda o: sched.LinearLR(o, start_factor=0.0), r"start_factor must be in \(0, 1\]"),
    (lambda o: sched.LinearLR(o, end_factor=1.5), "end_factor"),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1), "give total_steps, or epochs and steps_per_"),
    (lambda o: sched.OneCycleLR(o, max_lr=[0.1], total_steps=5), "expected 2 values of max_lr"),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=5, anneal_strategy="exp"),
     "anneal_strategy must be 'cos' or 'linear'"),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=5, pct_start=1.5), "pct_start"),
    (lambda o: sched.ReduceLROnPlateau(o, mode="up"), "mode must be 'min' or 'max'"),
    (lambda o: sched.ReduceLROnPlateau(o, factor=1.0), r"factor must be in \[0.0, 1.0\)"),
    (lambda o: sched.ReduceLROnPlateau(o, threshold_mode="x"), "threshold_mode"),
    (lambda o: sched.SequentialLR(o, [sched.StepLR(o, 2)], milestones=[1]), "one milestone"),
])
def test_invalid_settings_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build(_sgd())


def test_other_errors():
    with pytest.raises(TypeError, match="expected a chainrule Optimizer, got list"):
        sched.StepLR([], step_size=1)
    with pytest.raises(KeyError, match="no 'initial_lr' to resume from at last_epoch=3"):
        sched.StepLR(_sgd(), step_size=1, last_epoch=3)
    with pytest.raises(ValueError, match="Adagrad has neither momentum nor betas"):
        sched.OneCycleLR(Adagrad([Parameter([1.0])]), max_lr=0.1, total_steps=5)
    other = _sgd()
    with pytest.raises(ValueError, match="built on another optimizer"):
        sched.SequentialLR(_sgd(), [sched.StepLR(other, 1), sched.StepLR(other, 1)], [1])
