"""Reading and writing WAV files (uncompressed PCM) with Python's ``wave`` module.

Samples are float32 in [-1, 1): 16-bit PCM is signed (``s / 32768``), 8-bit PCM is unsigned
with 128 as zero (``(s - 128) / 128``), as the WAV format defines them. Sample rates outside
1,000 to 384,000 Hz are refused: a header is a claim, and the rate decides what resampling
costs.
"""

from __future__ import annotations

import contextlib
import os
import wave
from typing import Any, BinaryIO

import numpy as np

from ..io.files import open_regular

__all__ = ["SAMPLE_RATES", "read_wav", "write_wav"]

SAMPLE_RATES = (1_000, 384_000)  # the rates read_wav accepts, in Hz (telephone to studio)

# sample width in bytes -> (stored dtype, value of silence, full scale)
_FORMATS: dict[int, tuple[np.dtype[np.integer[Any]], int, float]] = {
    1: (np.dtype(np.uint8), 128, 128.0), 2: (np.dtype("<i2"), 0, 32768.0)}


def _describe(source) -> str:
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else repr(source)


def _openable(source):
    """``wave.open`` takes a str or a file object, not a ``pathlib.Path``."""
    return os.fspath(source) if isinstance(source, os.PathLike) else source


@contextlib.contextmanager
def _reader(source):
    """A binary reader of ``source``: a path opened only if it is a regular file (a FIFO
    never blocks), or the caller's file object, left open."""
    if isinstance(source, (str, os.PathLike)):
        with open_regular(source, "a .wav file") as file:
            yield file
    else:
        yield source


def read_wav(source: str | os.PathLike | BinaryIO, mono: bool = True
             ) -> tuple[np.ndarray, int]:
    """Read an 8- or 16-bit PCM WAV file.

    Streams whose header gives no length (as synthesisers write to a pipe) are read to their
    end; a trailing partial frame is dropped.

    Args:
        source: a path or a binary file object.
        mono: mix all channels to one by averaging them.

    Returns:
        ``(samples, sample_rate)``: float32 samples in [-1, 1) and the rate in Hz.

    Raises:
        ValueError: not a WAV file, compressed or floating-point data, a sample width other
            than 8 or 16 bits, or a sample rate outside ``SAMPLE_RATES`` (the message names the
            file and what it holds). ``cr.LoadError`` (a ValueError) for a path that is not a
            regular file.

    **Shape**: ``samples`` is ``(L,)`` with ``mono``, else ``(channels, L)``.

    Example:
        >>> import io
        >>> buffer = io.BytesIO()
        >>> write_wav(buffer, np.array([0.0, 0.5, -0.5], dtype=np.float32), 8000)
        >>> _ = buffer.seek(0)
        >>> read_wav(buffer)
        (array([ 0. ,  0.5, -0.5], dtype=float32), 8000)
    """
    name = _describe(source)
    try:
        with _reader(source) as reader, wave.open(reader, "rb") as file:
            channels, width, rate = file.getnchannels(), file.getsampwidth(), file.getframerate()
            if width not in _FORMATS:
                raise ValueError(f"read_wav: {name} holds {8 * width}-bit samples; only 8- and "
                                 "16-bit PCM is supported (convert it, e.g. with sox or ffmpeg)")
            low, high = SAMPLE_RATES
            if not low <= rate <= high:
                raise ValueError(f"read_wav: {name} claims a sample rate of {rate:,} Hz; "
                                 f"expected {low:,} to {high:,} Hz")
            # The header's frame count can be a placeholder: read everything that is there.
            data = file.readframes(2**31 - 1)
    except (wave.Error, EOFError, RuntimeError) as error:
        # wave raises a bare RuntimeError when a chunk claims more bytes than the file holds
        reason = str(error) or ("a chunk claims more bytes than the file holds"
                                if isinstance(error, RuntimeError) else "the header is cut short")
        raise ValueError(f"read_wav: {name} is not an 8- or 16-bit PCM WAV file ({reason}); "
                         "compressed and floating-point WAV files are not supported") from error
    dtype, zero, scale = _FORMATS[width]
    frames = len(data) // (width * channels)
    raw = np.frombuffer(data, dtype=dtype, count=frames * channels).reshape(frames, channels)
    samples = raw.astype(np.float32)
    samples -= np.float32(zero)
    samples /= np.float32(scale)
    if mono:
        return (samples[:, 0] if channels == 1 else samples.mean(axis=1)), rate
    return np.ascontiguousarray(samples.T), rate


def write_wav(target: str | os.PathLike | BinaryIO, samples, sample_rate: int,
              sample_width: int = 2) -> None:
    """Write samples in [-1, 1] as a PCM WAV file (values outside are clipped).

    Args:
        target: a path or a writable binary file object.
        samples: a mono signal ``(L,)`` or channels ``(channels, L)``, floating point.
        sample_rate: in Hz.
        sample_width: bytes per sample, 2 (16-bit, the default) or 1 (8-bit).

    **Shape**: ``samples`` is ``(L,)`` or ``(channels, L)``.
    """
    samples = np.asarray(samples)
    if samples.dtype.kind != "f" or samples.ndim not in (1, 2):
        raise ValueError(f"write_wav: expected floating-point samples of shape (L,) or "
                         f"(channels, L), got {samples.dtype} {samples.shape}")
    if sample_width not in _FORMATS:
        raise ValueError(f"write_wav: sample_width must be 1 or 2 bytes, got {sample_width}")
    dtype, zero, scale = _FORMATS[sample_width]
    info = np.iinfo(dtype)
    frames = np.atleast_2d(samples).T  # (L, channels): WAV interleaves channels per frame
    pcm = np.clip(np.rint(frames * scale) + zero, info.min, info.max).astype(dtype)
    with wave.open(_openable(target), "wb") as file:
        file.setnchannels(frames.shape[1])
        file.setsampwidth(sample_width)
        file.setframerate(int(sample_rate))
        file.writeframes(np.ascontiguousarray(pcm).tobytes())
