"""The default convolutional network for small images (MNIST, Fashion-MNIST, digits, CIFAR)."""

from __future__ import annotations

from .. import nn

__all__ = ["cnn"]


def cnn(input_shape: tuple, num_classes: int, channels: tuple[int, ...] = (32, 64),
        hidden: int = 128, batch_norm: bool = True, dropout: float = 0.25) -> nn.Sequential:
    """``[Conv2d 3x3 (padding 1) → BatchNorm2d → ReLU → MaxPool2d 2] × len(channels) → Flatten →
    Dropout → Linear → ReLU → Dropout → Linear`` (logits).

    Each block keeps the image size through its convolution and halves it by pooling (blocks
    on an image already smaller than 2 pixels skip the pooling), so a 28x28 input leaves the
    default two blocks as 64 maps of 7x7. Batch normalisation lets the default SGD/Adam
    learning rates work from the first epoch; dropout regularises the dense head.

    Args:
        input_shape: ``(C, H, W)`` of one image.
        num_classes: number of logits.
        channels: output channels of each convolutional block.
        hidden: width of the dense hidden layer (0: straight to the logits).
        batch_norm: put a ``BatchNorm2d`` after each convolution.
        dropout: probability of the two ``Dropout`` layers (0: none).

    Shape:
        input: ``(N, C, H, W)``; output: ``(N, num_classes)``.

    Example:
        >>> from chainrule.models.cnn import cnn
        >>> model = cnn((1, 28, 28), 10)
        >>> model.summary((1, 28, 28), print_fn=None).splitlines()[-4]
        'Total params: 421,738'
    """
    if len(input_shape) != 3:
        raise ValueError(f"cnn: input_shape must be (channels, height, width), got "
                         f"{tuple(input_shape)}; load images unflattened")
    width, (height, breadth) = input_shape[0], input_shape[1:]
    layers: list[nn.Module] = []
    for out_channels in channels:
        layers += [nn.Conv2d(width, out_channels, 3, padding=1, bias=not batch_norm)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU())
        if min(height, breadth) >= 2:
            layers.append(nn.MaxPool2d(2))
            height, breadth = height // 2, breadth // 2
        width = out_channels
    features = width * height * breadth
    layers.append(nn.Flatten())
    if hidden:
        layers += ([nn.Dropout(dropout)] if dropout else []) + [nn.Linear(features, hidden),
                                                                 nn.ReLU()]
        features = hidden
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(features, num_classes))
    return nn.Sequential(*layers)
