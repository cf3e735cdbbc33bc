"""Folders of recorded digits laid out like the Free Spoken Digit Dataset (FSDD).

Each file is ``{digit}_{speaker}_{index}.wav`` (e.g. ``7_jackson_32.wav``): a digit 0-9, a
speaker name without underscores, and the recording's index. FSDD's own split puts indices 0-4
of every speaker in the test set; ``test_speakers`` instead holds out whole speakers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..audio.frontend import SpeechFeatures
from ..audio.wav import read_wav

__all__ = ["FSDD_PATTERN", "load_fsdd", "scan_fsdd"]

FSDD_PATTERN = re.compile(r"^(\d)_([^_]+)_([^_]+)\.wav$", re.IGNORECASE)
_FSDD_TEST_INDICES = 5  # FSDD's official test set: recordings 0-4 of every speaker


def scan_fsdd(path: str | os.PathLike) -> list[tuple[int, str, str, Path]]:
    """The recordings in a folder, sorted: ``(digit, speaker, index, file)`` for every
    ``{digit}_{speaker}_{index}.wav``.

    Raises:
        FileNotFoundError: no such folder, or no recordings in it.
        ValueError: a WAV file whose name does not follow the pattern (named in the message).
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"load_fsdd: {folder} is not a folder")
    found, strays = [], []
    for file in sorted(folder.iterdir()):
        if file.suffix.lower() != ".wav":
            continue
        match = FSDD_PATTERN.match(file.name)
        if match is None:
            strays.append(file.name)
            continue
        found.append((int(match[1]), match[2], match[3], file))
    if strays:
        raise ValueError(f"load_fsdd: {len(strays)} WAV file(s) in {folder} are not named "
                         f"{{digit}}_{{speaker}}_{{index}}.wav, e.g. {strays[0]!r}")
    if not found:
        raise FileNotFoundError(f"load_fsdd: no {{digit}}_{{speaker}}_{{index}}.wav recordings "
                                f"in {folder}")
    return found


def _is_test(speaker: str, index: str, test_speakers) -> bool:
    if test_speakers is not None:
        return speaker in test_speakers
    if not index.isdigit():
        raise ValueError(f"load_fsdd: index {index!r} is not a number, so FSDD's split "
                         "(indices 0-4 for testing) does not apply; pass test_speakers=")
    return int(index) < _FSDD_TEST_INDICES


def load_fsdd(path: str | os.PathLike, test_speakers: tuple[str, ...] | None = None,
              features: SpeechFeatures | None = None, waveforms: bool = False):
    """Load a folder of ``{digit}_{speaker}_{index}.wav`` recordings as features.

    Every recording (8- or 16-bit PCM, any rate) is resampled, trimmed and windowed by
    ``features`` (``SpeechFeatures()`` by default, the settings of ``spoken_digits``).

    Args:
        path: the folder (FSDD's ``recordings``).
        test_speakers: speakers held out for testing; by default FSDD's split (indices 0-4).
        features: the front end that makes the model inputs.
        waveforms: return the windows (``(N, num_samples)`` float32) instead of features.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``, labels int64.

    **Shape**: ``x`` is ``(N, 1, n_mels, T)`` (``features.output_shape``), or
    ``(N, num_samples)`` with ``waveforms``; ``y`` is ``(N,)``.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_fsdd("recordings")  # doctest: +SKIP
    """
    features = SpeechFeatures() if features is None else features
    held_out = None if test_speakers is None else set(test_speakers)
    recordings = scan_fsdd(path)
    unknown = (held_out or set()) - {speaker for _, speaker, _, _ in recordings}
    if unknown:
        raise ValueError(f"load_fsdd: test speakers {sorted(unknown)} have no recordings in "
                         f"{path}")
    parts: dict[bool, tuple[list[np.ndarray], list[int]]] = {False: ([], []), True: ([], [])}
    for digit, speaker, index, file in recordings:
        windows, labels = parts[_is_test(speaker, index, held_out)]
        windows.append(features.window(features.prepare(*read_wav(file))))
        labels.append(digit)
    result = []
    for windows, labels in (parts[False], parts[True]):
        x = np.stack(windows) if windows else np.zeros((0, features.num_samples), np.float32)
        result.append((x if waveforms else features.transform(x), np.array(labels, np.int64)))
    return tuple(result)
