"""Band-limited resampling by a rational factor with a polyphase windowed-sinc filter."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["resample"]

# Filter design: zero crossings of the sinc kept on each side, Kaiser window shape, and the
# cutoff as a fraction of the lower Nyquist frequency (the rest is the transition band).
_ZEROS, _BETA, _ROLLOFF = 16, 8.6, 0.94
_CHUNK = 1 << 21  # output samples x taps gathered at once: bounds memory for long signals
# The largest term of the reduced ratio up/down: the filter has about 34·max(up, down) taps, so
# this bounds its memory (0.6 M taps: under 50 MB while it is designed) and set-up time whatever
# rates a file claims. 1 << 16 let an 800-byte WAV claiming 65,297 Hz cost 190 MB.
_MAX_TERM = 1 << 14


def _filter_bank(up: int, down: int, dtype) -> tuple[np.ndarray, int, int]:
    """The low-pass filter split into ``up`` phases.

    Returns ``(bank, taps, half)``: ``bank[φ, m]`` weighs input ``k0 + m`` for an output whose
    phase is ``φ``, and ``half`` is the filter's centre in the upsampled time axis.
    """
    cutoff = _ROLLOFF / max(up, down)  # in cycles per upsampled sample, times two
    half = math.ceil(_ZEROS / cutoff)
    t = np.arange(-half, half + 1, dtype=np.float64)
    h = up * cutoff * np.sinc(cutoff * t) * np.kaiser(2 * half + 1, _BETA)
    taps = math.ceil(2 * half / up) + 1
    padded = np.zeros(taps * up)
    padded[: h.size] = h
    # Phase φ reads h[φ + (taps - 1 - m)·up] for m = 0 … taps - 1.
    index = np.arange(up)[:, None] + (taps - 1 - np.arange(taps))[None, :] * up
    return padded[index].astype(dtype), taps, half


def resample(x, orig_sr: int, target_sr: int, axis: int = -1) -> np.ndarray:
    """Change the sample rate of a signal from ``orig_sr`` to ``target_sr`` (Hz).

    The rate changes by ``up/down = target_sr/orig_sr`` (reduced): conceptually ``up - 1``
    zeros go between samples, a windowed-sinc low-pass removes everything above the lower of
    the two Nyquist frequencies (no aliasing), and every ``down``-th sample is kept:

    ``y[j] = Σ_k x[k] · h(j·down - k·up)``,  ``h(t) = up·f·sinc(f·t)·w(t)``,
    ``f = 0.94 / max(up, down)``

    with a Kaiser window ``w`` spanning 16 zero crossings each side. Only the non-zero terms
    are computed (polyphase), in chunks, for all leading axes at once. The signal is taken as
    zero outside its ends.

    Args:
        x: the signal(s); floating point keeps its dtype, other input becomes float32.
        orig_sr, target_sr: positive integer rates in Hz whose ratio in lowest terms has no
            term above 16,384 (every common pair qualifies: 44,100 to 16,000 is 160/441).
        axis: the time axis.

    Returns:
        The resampled signal(s), ``ceil(L · target_sr / orig_sr)`` samples along ``axis``.

    **Shape**: ``(..., L, ...)`` → ``(..., ceil(L·target_sr/orig_sr), ...)``.

    Example:
        >>> t = np.arange(22050) / 22050
        >>> resample(np.sin(2 * np.pi * 440 * t), 22050, 8000).shape
        (8000,)
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    for name, rate in (("orig_sr", orig_sr), ("target_sr", target_sr)):
        if int(rate) != rate or rate <= 0:
            raise ValueError(f"resample: {name} must be a positive integer rate, got {rate}")
    gcd = math.gcd(int(orig_sr), int(target_sr))
    up, down = int(target_sr) // gcd, int(orig_sr) // gcd
    if max(up, down) > _MAX_TERM:
        raise ValueError(
            f"resample: {int(orig_sr):,} Hz to {int(target_sr):,} Hz is the ratio {up}/{down} in "
            f"lowest terms, beyond {_MAX_TERM:,} (its filter would need about "
            f"{34 * max(up, down):,} taps); resample from a common rate such as 44,100 or "
            "48,000 Hz")
    if up == down:
        return x.copy()
    x = np.moveaxis(x, axis, -1)
    length = x.shape[-1]
    out_length = -(-length * up // down)
    bank, taps, half = _filter_bank(up, down, x.dtype)
    # Output j reads inputs k0_j … k0_j + taps - 1 with phase φ_j; pad so all reads are valid.
    position = np.arange(out_length, dtype=np.int64) * down + half
    phase = position % up
    start = position // up - (taps - 1)
    lead = max(0, -int(start[0])) if out_length else 0
    trail = max(0, int(start[-1]) + taps - length) if out_length else 0
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(lead, trail)])
    start += lead
    out = np.empty(x.shape[:-1] + (out_length,), dtype=x.dtype)
    step = max(1, _CHUNK // (taps * max(1, math.prod(x.shape[:-1]))))
    offsets = np.arange(taps)
    for begin in range(0, out_length, step):
        rows = slice(begin, begin + step)
        windows = padded[..., start[rows, None] + offsets]  # (..., chunk, taps)
        out[..., rows] = np.einsum("...jm,jm->...j", windows, bank[phase[rows]])
    return np.moveaxis(out, -1, axis)
