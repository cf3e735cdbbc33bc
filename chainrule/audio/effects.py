"""Clip handling and augmentation: trimming silence, placing a clip in a fixed window (time
shift), gain and additive noise at a chosen signal-to-noise ratio."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..backend import sliding_window_view
from ..random import resolve

__all__ = ["trim_silence", "place", "add_noise", "augment"]


def trim_silence(x, top_db: float = 40.0, frame_length: int = 256, hop_length: int = 64
                 ) -> tuple[np.ndarray, tuple[int, int]]:
    """Cut leading and trailing silence: keep from the first to the end of the last frame whose
    RMS level is within ``top_db`` decibels of the loudest frame's.

    Returns:
        ``(x[start:stop], (start, stop))``; an all-zero signal gives an empty clip.

    **Shape**: ``(L,)`` → ``(stop - start,)``.

    Example:
        >>> x = np.r_[np.zeros(500), np.ones(300), np.zeros(500)].astype(np.float32)
        >>> trim_silence(x)[1]
        (256, 1024)
    """
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"trim_silence: expected one signal of shape (L,), got {x.shape}")
    if x.size < frame_length:
        return x, (0, x.size)
    power = (sliding_window_view(x, frame_length)[::hop_length] ** 2).mean(axis=-1)
    peak = power.max()
    if peak == 0:
        return x[:0], (0, 0)
    loud = np.flatnonzero(power >= peak * 10 ** (-top_db / 10))
    start, stop = int(loud[0]) * hop_length, int(loud[-1]) * hop_length + frame_length
    return x[start:stop], (start, stop)


def place(x, length: int, offset: int | None = None) -> np.ndarray:
    """Put a clip into a silent window of ``length`` samples, starting at ``offset`` (default:
    centred). Parts that fall outside the window are cut, so a negative offset or a clip longer
    than the window crops it.

    **Shape**: ``(L,)`` → ``(length,)``.

    Example:
        >>> place(np.ones(3, dtype=np.float32), 6, offset=-1)
        array([1., 1., 0., 0., 0., 0.], dtype=float32)
    """
    x = np.asarray(x)
    offset = (length - x.size) // 2 if offset is None else int(offset)
    out = np.zeros(length, dtype=x.dtype)
    begin, end = max(0, offset), min(length, offset + x.size)
    if end > begin:
        out[begin:end] = x[begin - offset:end - offset]
    return out


def add_noise(x, snr_db, generator=None, signal_power=None) -> np.ndarray:
    """Add white Gaussian noise at a signal-to-noise ratio: ``y = x + σ·n``, ``n ~ N(0, 1)``,
    ``σ² = P / 10^(snr_db/10)``.

    Args:
        x: signals ``(..., L)``.
        snr_db: the ratio in decibels, one for all or one per signal (shape ``(...)``).
        generator: ``numpy.random.Generator`` or int seed (the global generator when None).
        signal_power: ``P`` per signal; by default the mean square of each signal. Pass the
            power of the speech alone when ``x`` includes padding silence.

    **Shape**: ``(..., L)`` → ``(..., L)``.
    """
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    power = np.mean(np.square(x, dtype=np.float64), axis=-1) if signal_power is None \
        else np.asarray(signal_power, dtype=np.float64)
    sigma = np.sqrt(power / 10.0 ** (np.asarray(snr_db, dtype=np.float64) / 10.0))
    noise = resolve(generator).standard_normal(x.shape, dtype=dtype)
    noise *= np.asarray(sigma, dtype=dtype)[..., None]
    return x + noise


def _draw(generator, value, count: int) -> np.ndarray:
    """``count`` values: a fixed number, or uniform draws from a ``(low, high)`` range."""
    if isinstance(value, Sequence):
        low, high = value
        return generator.uniform(low, high, count)
    return np.full(count, float(value))


def augment(clips: Sequence[np.ndarray], length: int, generator=None, *,
            max_shift: int = 0, gain_db=0.0, snr_db=None) -> np.ndarray:
    """Fixed-length, randomly varied copies of variable-length clips (augmentation).

    Each clip is placed in a window of ``length`` samples, centred then moved by a uniform
    random shift in ``[-max_shift, max_shift]`` samples (cropping what leaves the window),
    scaled by a random gain, and given white noise at a signal-to-noise ratio measured against
    the clip's own power (not the window's, which depends on the padding).

    Args:
        clips: 1-d float signals (e.g. trimmed utterances).
        length: the window length in samples.
        generator: ``numpy.random.Generator`` or int seed (the global generator when None).
        max_shift: the largest time shift, in samples.
        gain_db: a gain in dB, or a ``(low, high)`` range to draw it from uniformly.
        snr_db: None (no noise), an SNR in dB, or a ``(low, high)`` range to draw it from.

    Returns:
        An array ``(N, length)`` in the clips' dtype.

    Example:
        >>> clips = [np.ones(100, dtype=np.float32), np.ones(50, dtype=np.float32)]
        >>> augment(clips, 200, generator=0, max_shift=20, gain_db=(-6, 6), snr_db=10).shape
        (2, 200)
    """
    rng = resolve(generator)
    count = len(clips)
    if count == 0:
        return np.zeros((0, length), dtype=np.float32)
    shifts = rng.integers(-max_shift, max_shift + 1, count) if max_shift else np.zeros(count)
    gains = 10.0 ** (_draw(rng, gain_db, count) / 20.0)
    dtype = np.result_type(*clips)
    out = np.stack([place(np.asarray(c, dtype=dtype), length,
                          (length - len(c)) // 2 + int(s)) for c, s in zip(clips, shifts)])
    out *= gains[:, None].astype(out.dtype)
    if snr_db is not None:
        power = np.array([np.mean(np.square(c, dtype=np.float64)) for c in clips]) * gains**2
        out = add_noise(out, _draw(rng, snr_db, count), rng, signal_power=power)
    return out
