"""Ready-made model builders used by the ``chainrule`` command and the examples."""

from collections.abc import Callable

from ..names import lookup
from ..nn.module import Module
from . import text
from .cnn import cnn
from .mlp import mlp
from .speech import speech_cnn

__all__ = ["mlp", "cnn", "build", "text", "speech_cnn"]

# Every builder takes (input_shape, num_classes, **options) and returns a Module giving logits.
_BUILDERS: dict[str, Callable[..., Module]] = {
    "mlp": mlp, "cnn": cnn, "speech-cnn": speech_cnn,
    "bow": text.bow, "lstm": text.lstm, "transformer": text.transformer, "char-lm": text.char_lm,
}


def build(name: str, input_shape: tuple, num_classes: int, **options):
    """Build a named model (see ``_BUILDERS``; case, ``-`` and ``_`` ignored) for inputs of
    ``input_shape`` (without the batch axis) and ``num_classes`` outputs; text models also take
    ``vocab_size``."""
    return lookup("model", name, _BUILDERS)(input_shape, num_classes, **options)
