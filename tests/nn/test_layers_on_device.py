"""The layer-case table (tests/nn/cases) on each device (the ``device`` fixture): every case's
outputs, input gradients and parameter gradients on the device equal the CPU's, in float32 and
float64, and stay on the device; so do the running statistics a call updates."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend
from nn.cases import CASES, outputs

TOLERANCE = {np.float32: (2e-4, 2e-5), np.float64: (1e-9, 1e-11)}


def _run(case, dtype, device):
    """Host copies of the outputs, input gradients, parameter gradients and state of ``case``
    run on ``device``; the gradients are those of ``Σ_k Σ out_k ⊙ P_k`` for fixed ``P_k``."""
    layer = case.build(dtype=dtype).to(device)
    inputs = [cr.tensor(x.astype(dtype), device=device, requires_grad=True)
              for x in case.inputs]
    constants = [backend.to_device(c, device) if isinstance(c, np.ndarray) and c.ndim else c
                 for c in case.constants]
    results = outputs(case.run(layer, *inputs, *constants))
    weights = np.random.default_rng(1)
    total = None
    for out in results:
        assert out.device == device, f"{case.name}: an output on {out.device}"
        if out.dtype.kind == "f" and out.requires_grad:
            term = (out * cr.tensor(weights.uniform(0.5, 1.5, out.shape).astype(out.dtype),
                                    device=device)).sum()
            total = term if total is None else total + term
    if total is not None:
        total.backward()
    for name, p in layer.named_parameters():
        assert p.grad is None or backend.device_of(p.grad) == device, f"{case.name}: {name}"
    host = backend.to_host
    return ([host(out.data) for out in results],
            [None if x.grad is None else host(x.grad) for x in inputs],
            {name: host(p.grad) for name, p in layer.named_parameters() if p.grad is not None},
            {name: host(a) for name, a in layer.state_dict().items()})


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_layer_on_device_matches_cpu(case, dtype, device):
    expected = _run(case, dtype, "cpu")
    got = _run(case, dtype, device)
    rtol, atol = TOLERANCE[dtype]
    for what, a, b in (("output", got[0], expected[0]), ("input gradient", got[1], expected[1])):
        assert len(a) == len(b)
        for i, (x, y) in enumerate(zip(a, b)):
            assert (x is None) == (y is None), f"{what} {i}"
            if x is not None:
                np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"{what} {i}")
    for what, a, b in (("gradient", got[2], expected[2]), ("state", got[3], expected[3])):
        assert a.keys() == b.keys(), what
        for key in b:
            np.testing.assert_allclose(a[key], b[key], rtol=rtol, atol=atol,
                                       err_msg=f"{what} {key}")
