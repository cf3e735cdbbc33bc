"""Every optimizer's trajectory over ten steps, in float32, against ``torch.optim``."""

import numpy as np
import pytest
from optional_packages import importorskip

from chainrule.nn import Parameter
from chainrule.optim import SGD, Adagrad, Adam, AdamW, RMSprop

torch = importorskip("torch")

CASES = [
    (SGD, "SGD", {"lr": 0.1}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.9}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.5, "weight_decay": 0.1}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (Adam, "Adam", {"lr": 0.01}),
    (Adam, "Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    (Adam, "Adam", {"lr": 0.02, "amsgrad": True, "weight_decay": 0.05}),
    (AdamW, "AdamW", {"lr": 0.01}),
    (AdamW, "AdamW", {"lr": 0.02, "weight_decay": 0.3, "amsgrad": True}),
    (RMSprop, "RMSprop", {"lr": 0.01}),
    (RMSprop, "RMSprop", {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.1}),
    (RMSprop, "RMSprop", {"lr": 0.005, "momentum": 0.9, "centered": True}),
    (RMSprop, "RMSprop", {"lr": 0.005, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    (Adagrad, "Adagrad", {"lr": 0.1}),
    (Adagrad, "Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1,
                          "initial_accumulator_value": 0.2}),
]


def _grad(theta: np.ndarray) -> np.ndarray:
    """A weight-dependent float32 gradient, the same function for both libraries."""
    return (np.tanh(3 * theta) + 0.2 * theta ** 3 - 0.1).astype(np.float32)


@pytest.mark.parametrize("cls,torch_name,kwargs", CASES,
                         ids=[f"{n}-{i}" for i, (_, n, _) in enumerate(CASES)])
def test_trajectory_matches_torch(cls, torch_name, kwargs):
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(4,)).astype(np.float32)]
    ours = [Parameter(a) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    # two groups: the second at half the rate, so group settings are compared too
    opt = cls([{"params": ours[:1]}, {"params": ours[1:], "lr": kwargs["lr"] / 2}], **kwargs)
    ref = getattr(torch.optim, torch_name)(
        [{"params": theirs[:1]}, {"params": theirs[1:], "lr": kwargs["lr"] / 2}],
        foreach=False, **kwargs)
    for step in range(10):
        for i, (p, t) in enumerate(zip(ours, theirs)):
            if step == 3 and i == 1:  # no gradient this step: both must leave it alone
                p.grad, t.grad = None, None
                continue
            g = _grad(p.data)
            p.grad, t.grad = g, torch.from_numpy(_grad(t.detach().numpy()))
        opt.step()
        ref.step()
        for p, t in zip(ours, theirs):
            assert p.data.dtype == np.float32
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"step {step}")
