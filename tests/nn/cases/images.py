"""Layer cases: convolution, pooling and normalisation layers."""

import numpy as np

import chainrule as cr

from . import LayerCase, uniform

_IMAGES = uniform((2, 3, 6, 5))

CASES = [
    LayerCase("conv2d", lambda: cr.nn.Conv2d(3, 4, 3), (_IMAGES,), out_shapes=((2, 4, 4, 3),),
              num_params=4 * 3 * 3 * 3 + 4, torch_fn=lambda torch: torch.nn.Conv2d(3, 4, 3)),
    LayerCase("conv2d_strided_padded_dilated_grouped_float64",
              lambda: cr.nn.Conv2d(4, 2, (3, 2), stride=2, padding=1, dilation=(1, 2), groups=2,
                                   bias=False, dtype=np.float64, generator=1),
              (uniform((2, 4, 5, 6)),), out_shapes=((2, 2, 3, 3),), num_params=2 * 2 * 3 * 2,
              torch_fn=lambda torch: torch.nn.Conv2d(4, 2, (3, 2), stride=2, padding=1,
                                                     dilation=(1, 2), groups=2, bias=False)),
    LayerCase("conv2d_same", lambda: cr.nn.Conv2d(3, 2, 3, padding="same", dilation=2),
              (_IMAGES,), out_shapes=((2, 2, 6, 5),), num_params=2 * 3 * 3 * 3 + 2,
              torch_fn=lambda torch: torch.nn.Conv2d(3, 2, 3, padding="same", dilation=2)),
    # NOTE: max pooling on distinct values (no ties): the tie rule is tested in test_pool.py.
    LayerCase("max_pool2d", lambda: cr.nn.MaxPool2d(2), (_IMAGES,), out_shapes=((2, 3, 3, 2),),
              num_params=0, torch_fn=lambda torch: torch.nn.MaxPool2d(2)),
    LayerCase("max_pool2d_overlapping", lambda: cr.nn.MaxPool2d(3, stride=2, padding=1),
              (_IMAGES,), out_shapes=((2, 3, 3, 3),), num_params=0,
              torch_fn=lambda torch: torch.nn.MaxPool2d(3, stride=2, padding=1)),
    LayerCase("max_pool2d_rectangular_dilated",
              lambda: cr.nn.MaxPool2d((2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
              (_IMAGES,), out_shapes=((2, 3, 6, 2),), num_params=0,
              torch_fn=lambda torch: torch.nn.MaxPool2d((2, 3), stride=(1, 2), padding=(1, 0),
                                                        dilation=(2, 1))),
    LayerCase("avg_pool2d", lambda: cr.nn.AvgPool2d(3, 2, 1, count_include_pad=False),
              (_IMAGES,), out_shapes=((2, 3, 3, 3),), num_params=0,
              torch_fn=lambda torch: torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
    LayerCase("adaptive_avg_pool2d", lambda: cr.nn.AdaptiveAvgPool2d((2, 3)), (_IMAGES,),
              out_shapes=((2, 3, 2, 3),), num_params=0,
              torch_fn=lambda torch: torch.nn.AdaptiveAvgPool2d((2, 3))),
    LayerCase("adaptive_avg_pool2d_keep_width", lambda: cr.nn.AdaptiveAvgPool2d((4, None)),
              (_IMAGES,), out_shapes=((2, 3, 4, 5),), num_params=0,
              torch_fn=lambda torch: torch.nn.AdaptiveAvgPool2d((4, None))),
    LayerCase("batch_norm1d", lambda: cr.nn.BatchNorm1d(3, eps=1e-3), (uniform((5, 3)),),
              out_shapes=((5, 3),), num_params=2 * 3,
              torch_fn=lambda torch: torch.nn.BatchNorm1d(3, eps=1e-3)),
    LayerCase("batch_norm1d_sequence_eval", lambda: cr.nn.BatchNorm1d(3),
              (uniform((2, 3, 4)),), out_shapes=((2, 3, 4),), num_params=2 * 3,
              torch_fn=lambda torch: torch.nn.BatchNorm1d(3), train=False),
    LayerCase("batch_norm2d", lambda: cr.nn.BatchNorm2d(3, momentum=None), (_IMAGES,),
              out_shapes=((2, 3, 6, 5),), num_params=2 * 3,
              torch_fn=lambda torch: torch.nn.BatchNorm2d(3, momentum=None)),
    LayerCase("batch_norm2d_no_affine", lambda: cr.nn.BatchNorm2d(3, affine=False), (_IMAGES,),
              out_shapes=((2, 3, 6, 5),), num_params=0,
              torch_fn=lambda torch: torch.nn.BatchNorm2d(3, affine=False)),
    LayerCase("batch_norm2d_batch_statistics_only_float64",
              lambda: cr.nn.BatchNorm2d(3, track_running_stats=False, dtype=np.float64),
              (_IMAGES,), out_shapes=((2, 3, 6, 5),), num_params=2 * 3, train=False,
              torch_fn=lambda torch: torch.nn.BatchNorm2d(3, track_running_stats=False)),
    LayerCase("layer_norm", lambda: cr.nn.LayerNorm((6, 5)), (_IMAGES,),
              out_shapes=((2, 3, 6, 5),), num_params=2 * 6 * 5,
              torch_fn=lambda torch: torch.nn.LayerNorm((6, 5))),
    LayerCase("layer_norm_no_bias", lambda: cr.nn.LayerNorm(5, bias=False), (_IMAGES,),
              out_shapes=((2, 3, 6, 5),), num_params=5,
              torch_fn=lambda torch: torch.nn.LayerNorm(5, bias=False)),
]
