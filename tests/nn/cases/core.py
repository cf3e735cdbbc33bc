"""Layer cases: linear, shape, container, activation and dropout layers."""

import numpy as np

import chainrule as cr

from . import LayerCase, uniform

_X = uniform((4, 3))


def _activation(name, make, torch_fn, tolerance=(1e-9, 1e-10)):
    return LayerCase(name, make, (_X,), out_shapes=(_X.shape,), num_params=0, torch_fn=torch_fn,
                     tolerance=tolerance)


CASES = [
    LayerCase("linear", lambda: cr.nn.Linear(3, 2), (_X,), out_shapes=((4, 2),),
              num_params=3 * 2 + 2, torch_fn=lambda torch: torch.nn.Linear(3, 2)),
    LayerCase("linear_no_bias_float64_3d",
              lambda: cr.nn.Linear(3, 5, bias=False, dtype=np.float64, generator=4),
              (uniform((2, 4, 3)),), out_shapes=((2, 4, 5),), num_params=3 * 5,
              torch_fn=lambda torch: torch.nn.Linear(3, 5, bias=False)),
    LayerCase("identity", cr.nn.Identity, (_X,), out_shapes=((4, 3),), num_params=0,
              torch_fn=lambda torch: torch.nn.Identity()),
    LayerCase("flatten", cr.nn.Flatten, (uniform((2, 3, 4, 5)),), out_shapes=((2, 60),),
              num_params=0, torch_fn=lambda torch: torch.nn.Flatten()),
    LayerCase("flatten_middle", lambda: cr.nn.Flatten(1, 2), (uniform((2, 3, 4, 5)),),
              out_shapes=((2, 12, 5),), num_params=0,
              torch_fn=lambda torch: torch.nn.Flatten(1, 2)),
    LayerCase("sequential_nested",
              lambda: cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(),
                                       cr.nn.Sequential(cr.nn.Linear(4, 2))),
              (_X,), out_shapes=((4, 2),), num_params=(3 * 4 + 4) + (4 * 2 + 2),
              torch_fn=lambda torch: torch.nn.Sequential(
                  torch.nn.Linear(3, 4), torch.nn.Tanh(),
                  torch.nn.Sequential(torch.nn.Linear(4, 2)))),
    LayerCase("module_list", lambda: cr.nn.ModuleList([cr.nn.Linear(3, 4), cr.nn.Linear(4, 2)]),
              (_X,), out_shapes=((4, 2),), num_params=(3 * 4 + 4) + (4 * 2 + 2),
              call=lambda layers, x: layers[1](layers[0](x).relu()),
              torch_fn=lambda torch: torch.nn.ModuleList(
                  [torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)])),
    _activation("sigmoid", cr.nn.Sigmoid, lambda torch: torch.nn.Sigmoid()),
    _activation("tanh", cr.nn.Tanh, lambda torch: torch.nn.Tanh()),
    _activation("relu", cr.nn.ReLU, lambda torch: torch.nn.ReLU()),
    _activation("leaky_relu", lambda: cr.nn.LeakyReLU(0.2),
                lambda torch: torch.nn.LeakyReLU(0.2)),
    _activation("elu", lambda: cr.nn.ELU(0.7), lambda torch: torch.nn.ELU(0.7)),
    # chainrule's erf is a rational approximation accurate to 1.5e-7.
    _activation("gelu", cr.nn.GELU, lambda torch: torch.nn.GELU(), tolerance=(1e-6, 1e-6)),
    _activation("gelu_tanh", lambda: cr.nn.GELU("tanh"),
                lambda torch: torch.nn.GELU(approximate="tanh")),
    _activation("softplus", lambda: cr.nn.Softplus(beta=2.0),
                lambda torch: torch.nn.Softplus(beta=2.0)),
    _activation("softmax", cr.nn.Softmax, lambda torch: torch.nn.Softmax(dim=-1)),
    _activation("softmax_axis0", lambda: cr.nn.Softmax(axis=0),
                lambda torch: torch.nn.Softmax(dim=0)),
    _activation("log_softmax", cr.nn.LogSoftmax, lambda torch: torch.nn.LogSoftmax(dim=-1)),
    LayerCase("dropout", lambda: cr.nn.Dropout(0.25, generator=1), (_X,), out_shapes=((4, 3),),
              num_params=0, torch_fn=lambda torch: torch.nn.Dropout(0.25), train=False),
    LayerCase("dropout2d", lambda: cr.nn.Dropout2d(0.25, generator=1),
              (uniform((2, 3, 4, 4)),), out_shapes=((2, 3, 4, 4),), num_params=0,
              torch_fn=lambda torch: torch.nn.Dropout2d(0.25), train=False),
]
