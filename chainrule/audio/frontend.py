"""``SpeechFeatures``: the fixed front end from a recording to a model's input, kept as a
layer so that a saved model carries the settings its inputs were made with."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from ..backend import to_device, to_host
from ..nn.module import Module
from ..tensor import Tensor
from .effects import place, trim_silence
from .features import log_mel_spectrogram
from .resample import resample
from .wav import read_wav

__all__ = ["SpeechFeatures"]

_CHUNK = 512  # clips per STFT batch: bounds the frame buffer to a few tens of MB


class SpeechFeatures(Module):
    """Recording → normalised log-mel spectrogram of a fixed-length window.

    A clip at any rate is resampled to ``sample_rate``, trimmed of leading and trailing
    silence (``trim_db`` below its loudest frame) and placed in a window of ``duration``
    seconds (centred; cropped in the middle if longer). The window becomes

    ``F = (D - mean(D)) / std(D)``,  ``D = log_mel_spectrogram(window)`` (dB, ``top_db`` floor)

    standardised per clip (``normalize``), which removes the recording's overall level.

    As a layer it accepts either waveforms, which it turns into features (a fixed,
    non-differentiable transform: inputs must not require gradients), or ready-made features,
    which it checks and passes on unchanged. Placed first in a model, it lets the same saved
    model train on cached features and classify recordings.

    Args:
        sample_rate: rate of the analysed audio in Hz; 8 kHz (the telephone band, and the
            rate of FSDD's recordings) keeps digits distinct and the features small.
        duration: window length in seconds.
        n_fft, hop_length, n_mels, fmin, fmax, top_db: log-mel settings (see
            ``log_mel_spectrogram``). The 50 dB range cuts what lies further below the peak
            (a recording's noise floor, 8-bit quantisation noise), so recordings made with
            different floors give alike features.
        trim_db: silence threshold for trimming, in dB below the loudest frame.
        normalize: standardise each clip's features.

    Shape:
        - Input: waveforms ``(N, num_samples)`` at ``sample_rate``, or features
          ``(N, *output_shape)``.
        - Output: ``(N, 1, n_mels, T)`` float32, ``T = 1 + num_samples // hop_length``.

    Example:
        >>> import numpy as np
        >>> front = SpeechFeatures()
        >>> front.output_shape
        (1, 32, 63)
        >>> front.transform(np.zeros((2, front.num_samples), dtype=np.float32)).shape
        (2, 1, 32, 63)
    """

    stateless = True

    def __init__(self, sample_rate: int = 8000, duration: float = 1.0, n_fft: int = 256,
                 hop_length: int = 128, n_mels: int = 32, fmin: float = 20.0,
                 fmax: float | None = None, top_db: float = 50.0, trim_db: float = 40.0,
                 normalize: bool = True):
        super().__init__()
        self.sample_rate, self.duration = int(sample_rate), float(duration)
        self.n_fft, self.hop_length, self.n_mels = int(n_fft), int(hop_length), int(n_mels)
        self.fmin, self.fmax, self.top_db = float(fmin), fmax, float(top_db)
        self.trim_db, self.normalize = float(trim_db), bool(normalize)
        self.num_samples = round(self.duration * self.sample_rate)
        if self.num_samples < self.n_fft:
            raise ValueError(f"SpeechFeatures: a window of {duration} s at {sample_rate} Hz is "
                             f"shorter than n_fft={n_fft}")
        self.output_shape = (1, self.n_mels, 1 + self.num_samples // self.hop_length)

    @staticmethod
    def of(model: Module) -> SpeechFeatures:
        """The front end inside ``model``, or the default one for models without it."""
        return next((m for m in model.modules() if isinstance(m, SpeechFeatures)),
                    SpeechFeatures())

    def prepare(self, samples, sample_rate: int) -> np.ndarray:
        """One recording (mono, any rate) → the trimmed utterance at ``sample_rate``.

        **Shape**: ``(L,)`` → ``(L',)``.
        """
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"SpeechFeatures.prepare: expected a mono signal (L,), got "
                             f"{samples.shape}")
        if sample_rate != self.sample_rate:
            samples = resample(samples, sample_rate, self.sample_rate)
        return trim_silence(samples, self.trim_db)[0]

    def window(self, clip) -> np.ndarray:
        """A trimmed clip centred in the analysis window: ``(L',)`` → ``(num_samples,)``."""
        return place(clip, self.num_samples)

    def transform(self, waves) -> np.ndarray:
        """Windows ``(N, num_samples)`` → features ``(N, 1, n_mels, T)`` float32."""
        waves = np.asarray(waves, dtype=np.float32)
        if waves.ndim != 2 or waves.shape[1] != self.num_samples:
            raise ValueError(f"SpeechFeatures: expected waveforms of shape (N, "
                             f"{self.num_samples}) ({self.duration} s at {self.sample_rate} "
                             f"Hz), got {waves.shape}")
        out = np.empty((len(waves), *self.output_shape), dtype=np.float32)
        for begin in range(0, len(waves), _CHUNK):
            db = log_mel_spectrogram(
                waves[begin:begin + _CHUNK], self.sample_rate, self.n_fft, self.hop_length,
                self.n_mels, self.fmin, self.fmax, self.top_db)
            if self.normalize:
                db -= db.mean(axis=(1, 2), keepdims=True)
                db /= db.std(axis=(1, 2), keepdims=True) + np.float32(1e-5)
            out[begin:begin + _CHUNK, 0] = db
        return out

    def from_files(self, paths: Iterable[str | os.PathLike]) -> np.ndarray:
        """Features of WAV recordings (8- or 16-bit PCM, any rate; stereo is mixed).

        **Shape**: ``N`` paths → ``(N, 1, n_mels, T)``.
        """
        windows = [self.window(self.prepare(*read_wav(path))) for path in paths]
        return self.transform(np.stack(windows) if windows
                              else np.zeros((0, self.num_samples), np.float32))

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor, got {type(x).__name__}")
        if x.shape[1:] == self.output_shape:
            return x
        if x.requires_grad:
            raise ValueError(f"{self!r}: features are computed without gradients; the input "
                             "waveforms must not require grad")
        if x.ndim != 2:
            raise ValueError(f"{self!r}: expected waveforms (N, {self.num_samples}) or "
                             f"features (N, {', '.join(map(str, self.output_shape))}), "
                             f"got {x.shape}")
        # The front end is signal processing on the host; the features go back to x's device.
        return Tensor(to_device(self.transform(to_host(x.data)), x.device))

    def get_config(self) -> dict:
        # cr.load_model refuses layers whose integer arguments multiply to far more values than
        # the file stores (a guard against hostile files). A rate times FFT sizes is no layer
        # size, so these settings are stored as floats; __init__ turns them back into ints.
        config = super().get_config()
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels"):
            config[name] = float(config[name])
        return config

    def extra_repr(self) -> str:
        return (f"sample_rate={self.sample_rate}, duration={self.duration}, n_fft={self.n_fft}, "
                f"hop_length={self.hop_length}, n_mels={self.n_mels}")
