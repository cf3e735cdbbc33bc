"""Spectral features of audio, vectorised over any leading axes: STFT, mel filter bank,
(log-)mel spectrogram, MFCC.

Conventions follow librosa (the reference the tests compare with): periodic windows, frames
centred on ``t·hop_length`` by padding ``n_fft // 2`` samples each side, Slaney's mel scale
and area normalisation, decibels with a floor ``top_db`` below the peak, orthonormal DCT-II.
float32 signals give float32 (complex64) features.
"""

from __future__ import annotations

import numpy as np

from ..backend import sliding_window_view

__all__ = [
    "stft", "mel_filterbank", "hz_to_mel", "mel_to_hz", "melspectrogram", "power_to_db",
    "log_mel_spectrogram", "dct_matrix", "mfcc",
]

# Slaney's mel scale: linear (200/3 Hz per mel) below 1 kHz, logarithmic above.
_F_SP, _MIN_LOG_HZ = 200.0 / 3, 1000.0
_MIN_LOG_MEL, _LOGSTEP = _MIN_LOG_HZ / _F_SP, np.log(6.4) / 27.0


def _signal(x, caller: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "fiu" or x.ndim == 0:
        raise ValueError(f"{caller}: expected a real signal of shape (..., L), got "
                         f"{x.dtype} {x.shape}")
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _window(window, win_length: int, n_fft: int, dtype) -> np.ndarray:
    """A periodic window of ``win_length`` samples, zero-padded to ``n_fft`` at both ends."""
    if isinstance(window, str):
        n = np.arange(win_length)
        shapes = {"hann": (0.5, 0.5), "hamming": (0.54, 0.46), "ones": (1.0, 0.0)}
        if window not in shapes:
            raise ValueError(f"stft: unknown window {window!r}; expected one of "
                             f"{sorted(shapes)} or an array")
        a, b = shapes[window]
        window = a - b * np.cos(2 * np.pi * n / win_length)
    window = np.asarray(window, dtype=dtype)
    if window.shape != (win_length,):
        raise ValueError(f"stft: window has shape {window.shape}, expected ({win_length},)")
    left = (n_fft - win_length) // 2
    return np.pad(window, (left, n_fft - win_length - left))


def stft(x, n_fft: int = 512, hop_length: int | None = None, win_length: int | None = None,
         window="hann", center: bool = True, pad_mode: str = "constant") -> np.ndarray:
    """Short-time Fourier transform: ``S[..., f, t] = Σ_n w[n] x[t·hop + n] e^{-2πi f n / n_fft}``.

    Args:
        x: real signal(s) ``(..., L)``.
        n_fft: FFT size (samples per frame).
        hop_length: samples between frames (default ``n_fft // 4``).
        win_length: window length ≤ ``n_fft`` (default ``n_fft``), centred in the frame.
        window: ``"hann"`` (periodic), ``"hamming"``, ``"ones"`` or an array.
        center: pad ``n_fft // 2`` samples each side so frame ``t`` is centred on
            ``t·hop_length``.
        pad_mode: ``numpy.pad`` mode for ``center`` (``"constant"`` pads zeros).

    Returns:
        Complex spectrogram (complex64 for float32 input).

    **Shape**: ``(..., L)`` → ``(..., n_fft // 2 + 1, T)`` with ``T = 1 + L // hop_length``
    when centred, else ``1 + (L - n_fft) // hop_length``.

    Example:
        >>> stft(np.zeros(8000, dtype=np.float32), n_fft=256, hop_length=128).shape
        (129, 63)
    """
    x = _signal(x, "stft")
    hop_length = hop_length or n_fft // 4
    win_length = win_length or n_fft
    if not 0 < win_length <= n_fft or hop_length < 1:
        raise ValueError(f"stft: need 0 < win_length <= n_fft and hop_length >= 1, got "
                         f"win_length={win_length}, n_fft={n_fft}, hop_length={hop_length}")
    if center:
        widths = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
        # pad_mode is any numpy.pad mode name (NumPy checks it); its stubs want a Literal
        x = np.pad(x, widths, mode=pad_mode)  # type: ignore[call-overload]
    if x.shape[-1] < n_fft:
        raise ValueError(f"stft: a signal of {x.shape[-1]} samples is shorter than n_fft={n_fft}")
    frames = sliding_window_view(x, n_fft, axis=-1)[..., ::hop_length, :]
    spectrum = np.fft.rfft(frames * _window(window, win_length, n_fft, x.dtype), axis=-1)
    return np.swapaxes(spectrum, -1, -2)


def hz_to_mel(frequencies, htk: bool = False):
    """Hertz to mels: HTK's ``2595·log10(1 + f/700)``, or Slaney's (linear below 1 kHz)."""
    f = np.asarray(frequencies, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    log_part = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log_part, f / _F_SP)


def mel_to_hz(mels, htk: bool = False):
    """Mels to hertz, the inverse of ``hz_to_mel``."""
    m = np.asarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    log_part = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(m, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log_part, _F_SP * m)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int = 40, fmin: float = 0.0,
                   fmax: float | None = None, htk: bool = False, norm: str | None = "slaney",
                   dtype=np.float32) -> np.ndarray:
    """Triangular filters, evenly spaced on the mel scale, that pool FFT bins into mel bands.

    Filter ``i`` rises linearly from mel point ``m[i]`` to ``m[i+1]`` and falls to ``m[i+2]``
    (``n_mels + 2`` points from ``fmin`` to ``fmax``); with ``norm="slaney"`` it is scaled by
    ``2 / (f[i+2] - f[i])`` so every filter has the same area.

    **Shape**: ``(n_mels, n_fft // 2 + 1)``.

    Example:
        >>> mel_filterbank(8000, 256, n_mels=32).shape
        (32, 129)
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(f"mel_filterbank: need 0 <= fmin < fmax <= sample_rate / 2, got "
                         f"fmin={fmin}, fmax={fmax}, sample_rate={sample_rate}")
    if norm not in ("slaney", None):
        raise ValueError(f"mel_filterbank: norm must be 'slaney' or None, got {norm!r}")
    bins = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(dtype)


def melspectrogram(x, sample_rate: int, n_fft: int = 512, hop_length: int | None = None,
                   n_mels: int = 40, fmin: float = 0.0, fmax: float | None = None,
                   power: float = 2.0, **stft_options) -> np.ndarray:
    """Mel spectrogram: ``M = F · |STFT(x)|^power`` with ``F = mel_filterbank(...)``.

    ``stft_options`` (``win_length``, ``window``, ``center``, ``pad_mode``) go to ``stft``.

    **Shape**: ``(..., L)`` → ``(..., n_mels, T)``.
    """
    spectrum = np.abs(stft(x, n_fft, hop_length, **stft_options))
    if power != 1:
        spectrum **= power
    return mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax, dtype=spectrum.dtype) @ spectrum


def power_to_db(power, ref: float = 1.0, amin: float = 1e-10, top_db: float | None = 80.0):
    """Power to decibels: ``10·log10(max(amin, S) / ref)``, floored at ``top_db`` below the peak
    of each spectrogram (the maximum over the last two axes).

    **Shape**: unchanged, ``(..., F, T)``.
    """
    power = np.asarray(power)
    dtype = power.dtype if power.dtype.kind == "f" else np.dtype(np.float32)
    db = np.log10(np.maximum(power, dtype.type(amin)), dtype=dtype)
    db *= dtype.type(10)
    db -= dtype.type(10 * np.log10(max(amin, ref)))
    if top_db is not None:
        if top_db < 0:
            raise ValueError(f"power_to_db: top_db must be non-negative, got {top_db}")
        floor = db.max(axis=(-2, -1), keepdims=True) - dtype.type(top_db)
        np.maximum(db, floor, out=db)
    return db


def log_mel_spectrogram(x, sample_rate: int, n_fft: int = 512, hop_length: int | None = None,
                        n_mels: int = 40, fmin: float = 0.0, fmax: float | None = None,
                        top_db: float | None = 80.0, **stft_options) -> np.ndarray:
    """Log-mel spectrogram in decibels: ``power_to_db(melspectrogram(x, ...), top_db=top_db)``.

    **Shape**: ``(..., L)`` → ``(..., n_mels, T)``.

    Example:
        >>> x = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
        >>> log_mel_spectrogram(x, 8000, n_fft=256, hop_length=128, n_mels=32).shape
        (32, 63)
    """
    mel = melspectrogram(x, sample_rate, n_fft, hop_length, n_mels, fmin, fmax, **stft_options)
    return power_to_db(mel, top_db=top_db)


def dct_matrix(n_out: int, n_in: int, dtype=np.float32) -> np.ndarray:
    """Orthonormal DCT-II as a matrix: ``C[k, n] = s_k cos(π k (2n + 1) / (2 n_in))`` with
    ``s_0 = √(1/n_in)`` and ``s_k = √(2/n_in)``; rows ``k < n_out``.

    **Shape**: ``(n_out, n_in)``.
    """
    k, n = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
    matrix = np.sqrt(2.0 / n_in) * np.cos(np.pi * k * (2 * n + 1) / (2 * n_in))
    matrix[0] /= np.sqrt(2.0)
    return matrix.astype(dtype)


def mfcc(x, sample_rate: int, n_mfcc: int = 13, n_fft: int = 512, hop_length: int | None = None,
         n_mels: int = 40, fmin: float = 0.0, fmax: float | None = None,
         top_db: float | None = 80.0, **stft_options) -> np.ndarray:
    """Mel-frequency cepstral coefficients: the orthonormal DCT-II of the log-mel spectrogram
    (in dB) along the mel axis, first ``n_mfcc`` coefficients: ``C = D · log_mel_spectrogram(x)``.

    **Shape**: ``(..., L)`` → ``(..., n_mfcc, T)``.

    Example:
        >>> x = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
        >>> mfcc(x, 8000, n_fft=256, hop_length=128, n_mels=32).shape
        (13, 63)
    """
    if not 0 < n_mfcc <= n_mels:
        raise ValueError(f"mfcc: need 0 < n_mfcc <= n_mels, got n_mfcc={n_mfcc}, n_mels={n_mels}")
    db = log_mel_spectrogram(x, sample_rate, n_fft, hop_length, n_mels, fmin, fmax, top_db,
                             **stft_options)
    return dct_matrix(n_mfcc, n_mels, dtype=db.dtype) @ db
