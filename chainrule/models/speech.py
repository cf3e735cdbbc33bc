"""The spoken-digit recogniser: the speech front end followed by a small CNN on log-mel
spectrograms."""

from __future__ import annotations

from .. import nn
from ..audio.frontend import SpeechFeatures
from .cnn import cnn

__all__ = ["speech_cnn"]


def speech_cnn(input_shape: tuple, num_classes: int, channels: tuple[int, ...] = (16, 32, 64),
               hidden: int = 64, dropout: float = 0.25,
               features: SpeechFeatures | None = None) -> nn.Sequential:
    """``SpeechFeatures → [Conv2d 3x3 → BatchNorm2d → ReLU → MaxPool2d 2] × len(channels) →
    Flatten → Dropout → Linear → ReLU → Dropout → Linear`` (logits; the layers after the front
    end are ``models.cnn``'s).

    The spectrogram is treated as a one-channel image (mel bands × frames). The front end
    passes ready-made features through (training on ``spoken_digits`` arrays) and turns raw
    windows into features (classifying recordings); being part of the model, its settings are
    saved with it, so ``chainrule predict model.safetensors clip.wav`` analyses the clip as the
    training data was.

    Args:
        input_shape: ``(1, n_mels, T)``; must be the front end's ``output_shape``.
        num_classes: number of logits.
        channels, hidden, dropout: the CNN's sizes (see ``models.cnn``).
        features: the front end the data was made with (``SpeechFeatures()`` by default).

    Shape:
        input: features ``(N, 1, n_mels, T)`` or windows ``(N, num_samples)``;
        output: ``(N, num_classes)``.

    Example:
        >>> from chainrule.models.speech import speech_cnn
        >>> model = speech_cnn((1, 32, 63), 10)
        >>> model.num_parameters()
        138810
    """
    features = SpeechFeatures() if features is None else features
    if tuple(input_shape) != features.output_shape:
        raise ValueError(
            f"speech_cnn: input_shape {tuple(input_shape)} differs from the front end's "
            f"features {features.output_shape}; pass features=SpeechFeatures(...) with the "
            "settings the data was made with"
        )
    body = cnn(input_shape, num_classes, channels=channels, hidden=hidden, batch_norm=True,
               dropout=dropout)
    return nn.Sequential(features, *body)
