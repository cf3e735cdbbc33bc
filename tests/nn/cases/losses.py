"""Layer cases: the loss modules (targets are constants; their gradients are tested in
test_losses.py)."""

import numpy as np

import chainrule as cr

from . import LayerCase, uniform

_PRED = uniform((4, 3))
_TARGET = uniform((4, 3), seed=1)
_LABELS = np.array([0, 4, 2, 4])
_BINARY = (uniform((4, 3), seed=2) > 0).astype(np.float64)


def _loss(name, make, torch_fn, pred=_PRED, target=_TARGET):
    return LayerCase(name, make, (pred,), out_shapes=((),), num_params=0, constants=(target,),
                     torch_fn=torch_fn)


CASES = [
    _loss("mse_loss", cr.nn.MSELoss, lambda torch: torch.nn.MSELoss()),
    _loss("mse_loss_half", lambda: cr.nn.MSELoss(half=True), None),
    _loss("l1_loss_sum", lambda: cr.nn.L1Loss(reduction="sum"),
          lambda torch: torch.nn.L1Loss(reduction="sum")),
    _loss("huber_loss", lambda: cr.nn.HuberLoss(delta=0.5),
          lambda torch: torch.nn.HuberLoss(delta=0.5)),
    _loss("cross_entropy_loss", lambda: cr.nn.CrossEntropyLoss(label_smoothing=0.1),
          lambda torch: torch.nn.CrossEntropyLoss(label_smoothing=0.1),
          pred=uniform((4, 5)), target=_LABELS),
    _loss("nll_loss", cr.nn.NLLLoss, lambda torch: torch.nn.NLLLoss(),
          pred=uniform((4, 5)), target=_LABELS),
    _loss("bce_loss", cr.nn.BCELoss, lambda torch: torch.nn.BCELoss(),
          pred=uniform((4, 3), 0.1, 0.9), target=_BINARY),
    _loss("bce_with_logits_loss", cr.nn.BCEWithLogitsLoss,
          lambda torch: torch.nn.BCEWithLogitsLoss(), target=_BINARY),
]
