"""Spoken digits "zero" … "nine", synthesised on this machine with espeak-ng (and flite).

No recorded speech corpus ships with a package, so the clips are made locally: espeak-ng
across English accents, voice variants, speeds and pitches, plus flite's voices when flite is
installed. The test set holds out whole voices (voice variants in every accent, and flite
voices), so it measures recognition of voices the model never heard; it gets white noise at
10 dB SNR by default. Training clips can be augmented by time shifts, gain and noise.

Synthesised clips are cached as WAV files in FSDD's layout (``{digit}_{speaker}_{index}.wav``,
readable by ``load_fsdd``), and the finished feature arrays as a ``.npz``, in
``<cache_dir>/spoken-digits`` (``cache_dir`` is, in order, the argument, ``$CHAINRULE_DATA`` or
``~/.cache/chainrule``); a second call with the same settings only reads the arrays. The first
call says on standard error what it synthesises (with a progress bar in a terminal) and, at the
end, where the cache is and how big (``chainrule cache --clear`` empties it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.effects import augment as _augment_clips
from ..audio.frontend import SpeechFeatures
from ..audio.wav import read_wav, write_wav
from ._locate import CACHE_DIR, _data_roots
from ._progress import _say, _steps
from .cache import note

__all__ = [
    "DIGIT_WORDS", "ESPEAK_ACCENTS", "ESPEAK_VARIANTS", "FLITE_VOICES", "TEST_VARIANTS",
    "TEST_FLITE_VOICES", "spoken_digits",
]

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# The English accents of espeak-ng that work (its mbrola "mb-*" voices need extra data).
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
                  "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
                   "klatt", "klatt2", "klatt3", "klatt4", "croak", "whisper", "Andy", "Annie")
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
TEST_VARIANTS = ("m3", "f4", "klatt2", "Annie")  # held out in every accent
TEST_FLITE_VOICES = ("awb",)
_SUBDIR = "spoken-digits"
_CACHE_VERSION = 1  # part of the feature cache's key: bump when the arrays' recipe changes
_CHUNK = 1024  # clips turned into features at once: bounds the waveform buffer
_ESPEAK_SPEED = 175  # espeak-ng's default words per minute, which flite's timing matches


@dataclass(frozen=True)
class _Clip:
    """One utterance to synthesise: a digit said by a synthesiser's voice at a speed and pitch
    (flite has no pitch setting: its pitch is 0)."""

    digit: int
    synth: str
    voice: str
    speed: int
    pitch: int

    @property
    def speaker(self) -> str:
        return f"{'espeak' if self.synth == 'espeak-ng' else self.synth}-{self.voice}"

    @property
    def filename(self) -> str:
        return f"{self.digit}_{self.speaker}_{self.speed * 100 + self.pitch}.wav"

    def command(self, out: str) -> list[str]:
        word = DIGIT_WORDS[self.digit]
        if self.synth == "espeak-ng":
            return ["espeak-ng", "-v", self.voice, "-s", str(self.speed), "-p", str(self.pitch),
                    "-w", out, word]
        stretch = f"duration_stretch={_ESPEAK_SPEED / self.speed:.4f}"
        return ["flite", "-voice", self.voice, "--setf", stretch, "-t", word, "-o", out]


def _clips(accents, variants, flite_voices, speeds, pitches, test_variants, test_flite_voices
           ) -> tuple[list[_Clip], list[bool]]:
    """Every clip of the data set, and whether it belongs to the test set."""
    for name, held, pool in (("test_variants", test_variants, variants),
                             ("test_flite_voices", test_flite_voices, flite_voices)):
        stray = sorted(set(held) - set(pool))
        if stray:
            raise ValueError(f"spoken_digits: {name} {stray} are not among the voices used "
                             f"({', '.join(pool) or 'none'})")
    for name, values, low, high in (("speeds", speeds, 80, 450), ("pitches", pitches, 0, 99)):
        if not values or any(not low <= v <= high for v in values):
            raise ValueError(f"spoken_digits: {name} must be values in {low}..{high}, got "
                             f"{tuple(values)}")
    clips, test = [], []
    for accent in accents:
        for variant in variants:
            for speed in speeds:
                for pitch in pitches:
                    for digit in range(10):
                        clips.append(_Clip(digit, "espeak-ng", f"{accent}+{variant}",
                                           int(speed), int(pitch)))
                        test.append(variant in test_variants)
    for voice in flite_voices:
        for speed in speeds:
            for digit in range(10):
                clips.append(_Clip(digit, "flite", voice, int(speed), 0))
                test.append(voice in test_flite_voices)
    if all(test) or not any(test):
        raise ValueError("spoken_digits: the held-out voices leave no "
                         f"{'training' if all(test) else 'test'} clips")
    return clips, test


def _require(program: str) -> None:
    if shutil.which(program) is None:
        raise FileNotFoundError(
            f"spoken_digits: the program {program!r} is not installed (Debian/Ubuntu: "
            f"apt-get install {program}); it synthesises the clips, which are then cached"
        )


def _synthesise(clip: _Clip, target: Path, features: SpeechFeatures) -> None:
    """Say one clip, then store it resampled and trimmed at ``target`` (atomically)."""
    fd, tmp = tempfile.mkstemp(suffix=".wav", prefix=".synth-", dir=target.parent)
    os.close(fd)
    try:
        command = clip.command(tmp)
        done = subprocess.run(command, capture_output=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"spoken_digits: {' '.join(command)} failed with status "
                               f"{done.returncode}: {done.stderr.decode(errors='replace')}")
        samples, rate = read_wav(tmp)
        write_wav(tmp, features.prepare(samples, rate), features.sample_rate)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _audio(clips: list[_Clip], folder: Path, features: SpeechFeatures, jobs: int
           ) -> list[np.ndarray]:
    """The clips' trimmed audio, synthesising those not yet in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    missing = [c for c in clips if not (folder / c.filename).is_file()]
    synths = sorted({c.synth for c in missing})
    for synth in synths:
        _require(synth)
    if missing:
        _say(f"spoken-digits: synthesising {len(missing):,} clips with {' and '.join(synths)} "
             f"into {folder} (once; about a minute per 5,000 clips on two cores)")
    # Each job waits on a synthesiser process, so threads give real parallelism.
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, _steps(
            len(missing), "spoken-digits: synthesising", "clip") as bar:
        for _ in pool.map(lambda c: _synthesise(c, folder / c.filename, features), missing):
            bar.update()
    return [read_wav(folder / c.filename)[0] for c in clips]


def _features(clips, features: SpeechFeatures, waveforms: bool, generator,
              copies: list[dict]) -> np.ndarray:
    """Windows of every clip once per entry of ``copies`` (the ``augment`` effects of that copy,
    drawn afresh), as features or waveforms, in one array: ``(len(copies) * len(clips), ...)``."""
    shape = (features.num_samples,) if waveforms else features.output_shape
    out = np.empty((len(copies) * len(clips), *shape), dtype=np.float32)
    with _steps(len(out), "spoken-digits: features", "clip") as bar:
        for copy, effects in enumerate(copies):
            for begin in range(0, len(clips), _CHUNK):
                windows = _augment_clips(clips[begin:begin + _CHUNK], features.num_samples,
                                         generator, **effects)
                at = copy * len(clips) + begin
                out[at:at + len(windows)] = windows if waveforms else features.transform(
                    windows)
                bar.update(len(windows))
    return out


def spoken_digits(
    cache_dir: str | os.PathLike | None = None,
    *,
    accents: tuple[str, ...] = ESPEAK_ACCENTS,
    variants: tuple[str, ...] = ESPEAK_VARIANTS,
    flite_voices: tuple[str, ...] | None = None,
    speeds: tuple[int, ...] = (130, 180, 240),
    pitches: tuple[int, ...] = (30, 70),
    test_variants: tuple[str, ...] | None = None,
    test_flite_voices: tuple[str, ...] | None = None,
    features: SpeechFeatures | None = None,
    augment: int = 1,
    train_snr_db: float | tuple[float, float] | None = (5.0, 30.0),
    test_snr_db: float | None = 10.0,
    max_shift: float = 0.1,
    gain_db: float | tuple[float, float] = (-6.0, 6.0),
    seed: int = 0,
    waveforms: bool = False,
    jobs: int = 2,
):
    """Synthesise (once) and load the spoken digits, split by held-out voices.

    The training part holds every clip of the training voices once, clean and centred, plus
    ``augment`` copies each shifted in time (uniformly within ``±max_shift`` seconds), scaled
    (``gain_db``) and noisy (``train_snr_db``). The test part holds the held-out voices'
    clips once, centred, with white noise at ``test_snr_db`` (the noise power is measured
    against the speech, not the padded window). Noise and shifts are drawn from ``seed``.

    With the defaults: 8 accents x 20 variants x 3 speeds x 2 pitches x 10 digits from
    espeak-ng (9,600 clips) and, with flite, 5 voices x 3 speeds x 10 digits (150); 16 variants
    and 4 flite voices train (15,600 samples with one augmented copy), 4 variants and ``awb``
    test (1,950). The first call synthesises for one to two minutes on two cores; the cached
    arrays take 140 MB.

    Args:
        cache_dir: folder for the ``spoken-digits`` cache (see the module's docstring).
        accents, variants: espeak-ng voices are ``{accent}+{variant}``.
        flite_voices: flite voices; None uses all of ``FLITE_VOICES`` when flite is installed
            and none otherwise.
        speeds: words per minute (80..450); flite's timing is stretched to match.
        pitches: espeak-ng pitches (0..99).
        test_variants, test_flite_voices: the voices held out for testing; None holds out
            those of ``TEST_VARIANTS`` and ``TEST_FLITE_VOICES`` that are in use.
        features: the front end making the arrays (``SpeechFeatures()`` by default); put it
            first in a model (as ``models.speech_cnn`` does) so saved models know it.
        augment: augmented copies of every training clip (0: clean clips only).
        train_snr_db: SNR of the augmented copies' noise: a value, a ``(low, high)`` range
            drawn uniformly, or None for none.
        test_snr_db: SNR of the test clips' noise, or None for clean test clips.
        max_shift: largest time shift of the augmented copies, in seconds.
        gain_db: gain of the augmented copies in dB: a value or a ``(low, high)`` range.
        seed: seed of the augmentation and the test noise.
        waveforms: return windows ``(N, num_samples)`` instead of features.
        jobs: synthesiser processes run at once.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 features, int64 digits.

    Raises:
        FileNotFoundError: espeak-ng (or flite, when ``flite_voices`` is given) is not
            installed and clips are missing from the cache.

    **Shape**: ``x`` is ``(N, 1, n_mels, T)`` = ``(N, 1, 32, 63)`` by default, or
    ``(N, num_samples)`` with ``waveforms``; ``y`` is ``(N,)``.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = spoken_digits()  # doctest: +SKIP
        >>> x_train.shape, x_test.shape  # doctest: +SKIP
        ((15600, 1, 32, 63), (1950, 1, 32, 63))
    """
    features = SpeechFeatures() if features is None else features
    if flite_voices is None:
        flite_voices = FLITE_VOICES if shutil.which("flite") else ()
    if test_variants is None:
        test_variants = tuple(v for v in TEST_VARIANTS if v in variants)
    if test_flite_voices is None:
        test_flite_voices = tuple(v for v in TEST_FLITE_VOICES if v in flite_voices)
    if augment < 0:
        raise ValueError(f"spoken_digits: augment must be >= 0 copies, got {augment}")
    clips, test = _clips(accents, variants, tuple(flite_voices), speeds, pitches,
                         tuple(test_variants), tuple(test_flite_voices))
    root = _data_roots(cache_dir, CACHE_DIR)[0] / _SUBDIR
    settings = {
        "version": _CACHE_VERSION, "clips": [c.filename for c in clips], "test": test,
        "features": features.get_config(), "augment": augment, "train_snr_db": train_snr_db,
        "test_snr_db": test_snr_db, "max_shift": max_shift, "gain_db": gain_db, "seed": seed,
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    cached = root / f"features-{key}.npz"
    if not waveforms and cached.is_file():
        with np.load(cached, allow_pickle=False) as arrays:
            return ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"]))

    folder = root / f"audio-{features.sample_rate}hz-trim{features.trim_db:g}db"
    audio = _audio(clips, folder, features, jobs)
    train_rng, test_rng = np.random.default_rng(seed).spawn(2)
    train = [a for a, t in zip(audio, test) if not t]
    y_train = np.array([c.digit for c, t in zip(clips, test) if not t], dtype=np.int64)
    varied = dict(max_shift=round(max_shift * features.sample_rate), gain_db=gain_db,
                  snr_db=train_snr_db)
    x_train = _features(train, features, waveforms, train_rng, [{}] + [varied] * augment)
    y_train = np.tile(y_train, 1 + augment)
    x_test = _features([a for a, t in zip(audio, test) if t], features, waveforms, test_rng,
                       [dict(snr_db=test_snr_db)])
    y_test = np.array([c.digit for c, t in zip(clips, test) if t], dtype=np.int64)
    if not waveforms:
        fd, tmp = tempfile.mkstemp(suffix=".npz", prefix=".features-", dir=root)
        with os.fdopen(fd, "wb") as file:
            np.savez(file, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        os.replace(tmp, cached)
        _say(note(root))
    return (x_train, y_train), (x_test, y_test)
