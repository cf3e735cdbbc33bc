"""Layer cases of issue 13: Conv1d, Conv3d, ConvTranspose2d, GroupNorm, InstanceNorm2d and the
activations Hardtanh, ReLU6, Hardswish, SiLU, Mish, Softsign, CELU, SELU."""

import numpy as np

import chainrule as cr

from . import LayerCase, uniform
from .core import _activation

_SEQUENCES = uniform((2, 4, 9))
_MAPS = uniform((2, 4, 5, 4))

CASES = [
    _activation("hardtanh", lambda: cr.nn.Hardtanh(-0.5, 0.25),
                lambda torch: torch.nn.Hardtanh(-0.5, 0.25)),
    _activation("relu6", cr.nn.ReLU6, lambda torch: torch.nn.ReLU6()),
    _activation("hardswish", cr.nn.Hardswish, lambda torch: torch.nn.Hardswish()),
    _activation("silu", cr.nn.SiLU, lambda torch: torch.nn.SiLU()),
    _activation("mish", cr.nn.Mish, lambda torch: torch.nn.Mish()),
    _activation("softsign", cr.nn.Softsign, lambda torch: torch.nn.Softsign()),
    # PyTorch's celu gradient carries 1/α rounded to float32 (see tests/ops/cases/math.py).
    _activation("celu", lambda: cr.nn.CELU(0.7), lambda torch: torch.nn.CELU(0.7),
                tolerance=(1e-7, 1e-9)),
    _activation("selu", cr.nn.SELU, lambda torch: torch.nn.SELU()),
    LayerCase("conv1d_strided_grouped", lambda: cr.nn.Conv1d(4, 6, 3, stride=2, padding=1,
                                                            groups=2),
              (_SEQUENCES,), out_shapes=((2, 6, 5),), num_params=6 * 2 * 3 + 6,
              torch_fn=lambda torch: torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2)),
    LayerCase("conv1d_same_dilated_no_bias_float64",
              lambda: cr.nn.Conv1d(4, 3, 4, padding="same", dilation=2, bias=False,
                                   dtype=np.float64),
              (_SEQUENCES,), out_shapes=((2, 3, 9),), num_params=3 * 4 * 4,
              torch_fn=lambda torch: torch.nn.Conv1d(4, 3, 4, padding="same", dilation=2,
                                                     bias=False)),
    LayerCase("conv3d", lambda: cr.nn.Conv3d(2, 3, (3, 2, 3), stride=(1, 2, 1), padding=1),
              (uniform((2, 2, 4, 5, 3)),), out_shapes=((2, 3, 4, 3, 3),),
              num_params=3 * 2 * 3 * 2 * 3 + 3,
              torch_fn=lambda torch: torch.nn.Conv3d(2, 3, (3, 2, 3), stride=(1, 2, 1),
                                                     padding=1)),
    LayerCase("conv_transpose2d_upsampling_grouped",
              lambda: cr.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1,
                                            groups=2),
              (_MAPS,), out_shapes=((2, 6, 10, 8),), num_params=4 * 3 * 3 * 3 + 6,
              torch_fn=lambda torch: torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1,
                                                              output_padding=1, groups=2)),
    LayerCase("conv_transpose2d_dilated_no_bias",
              lambda: cr.nn.ConvTranspose2d(4, 2, (2, 3), dilation=2, bias=False),
              (_MAPS,), out_shapes=((2, 2, 7, 8),), num_params=4 * 2 * 2 * 3,
              torch_fn=lambda torch: torch.nn.ConvTranspose2d(4, 2, (2, 3), dilation=2,
                                                              bias=False)),
    LayerCase("group_norm", lambda: cr.nn.GroupNorm(2, 4), (_MAPS,), out_shapes=((2, 4, 5, 4),),
              num_params=2 * 4, torch_fn=lambda torch: torch.nn.GroupNorm(2, 4)),
    LayerCase("group_norm_sequences_no_affine", lambda: cr.nn.GroupNorm(4, 4, eps=1e-3,
                                                                       affine=False),
              (_SEQUENCES,), out_shapes=((2, 4, 9),), num_params=0,
              torch_fn=lambda torch: torch.nn.GroupNorm(4, 4, eps=1e-3, affine=False)),
    LayerCase("instance_norm2d", lambda: cr.nn.InstanceNorm2d(4), (_MAPS,),
              out_shapes=((2, 4, 5, 4),), num_params=0,
              torch_fn=lambda torch: torch.nn.InstanceNorm2d(4)),
    LayerCase("instance_norm2d_affine", lambda: cr.nn.InstanceNorm2d(4, affine=True), (_MAPS,),
              out_shapes=((2, 4, 5, 4),), num_params=2 * 4,
              torch_fn=lambda torch: torch.nn.InstanceNorm2d(4, affine=True)),
]
