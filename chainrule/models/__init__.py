"""Ready-made model builders used by the ``chainrule`` command and the examples."""

from .mlp import mlp

__all__ = ["mlp", "build"]

_BUILDERS = {"mlp": mlp}


def build(name: str, input_shape: tuple, num_classes: int, **options):
    """Build a named model (``"mlp"``, or ``"cnn"`` when the convolution layers are present)
    for inputs of ``input_shape`` (without the batch axis) and ``num_classes`` outputs."""
    builders = dict(_BUILDERS)
    try:
        from .cnn import cnn

        builders["cnn"] = cnn
    except ImportError:
        pass
    if name not in builders:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(builders)}")
    return builders[name](input_shape, num_classes, **options)
