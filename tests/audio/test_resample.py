"""Resampling: exact on band-limited tones, no aliasing, shapes and dtypes, a reference."""

import numpy as np
import pytest
from optional_packages import importorskip

from chainrule.audio import resample

RATES = [(22050, 8000), (8000, 22050), (16000, 8000), (8000, 16000), (44100, 48000)]


def _tone(freq, rate, length):
    return np.sin(2 * np.pi * freq * np.arange(length) / rate)


@pytest.mark.parametrize("orig, target", RATES)
def test_tone_matches_the_tone_sampled_at_the_new_rate(orig, target):
    y = resample(_tone(440.0, orig, orig).astype(np.float32), orig, target)
    assert y.shape == (target,) and y.dtype == np.float32
    inner = slice(target // 10, -target // 10)  # the ends see the zeros outside the signal
    np.testing.assert_allclose(y[inner], _tone(440.0, target, target)[inner], atol=1e-4)


@pytest.mark.parametrize("orig, target", [(22050, 8000), (16000, 8000)])
def test_content_above_the_new_nyquist_is_removed(orig, target):
    y = resample(_tone(target / 2 + 400, orig, orig), orig, target)
    assert np.sqrt(np.mean(y[target // 10:-target // 10] ** 2)) < 1e-3  # input RMS is 0.707


def test_lengths_axes_and_dtypes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 1001))
    y = resample(x, 22050, 8000)
    assert y.shape == (3, 2, 364) and y.dtype == np.float64  # ceil(1001 * 160 / 441)
    np.testing.assert_allclose(y[2, 1], resample(x[2, 1], 22050, 8000), atol=1e-12)
    np.testing.assert_allclose(resample(np.moveaxis(x, -1, 0), 22050, 8000, axis=0),
                               np.moveaxis(y, -1, 0), atol=1e-12)
    assert resample(np.arange(10, dtype=np.int16), 8000, 16000).dtype == np.float32
    same = resample(x, 8000, 8000)
    assert same is not x and np.array_equal(same, x)


def test_constant_signal_keeps_its_level():
    y = resample(np.ones(4000, dtype=np.float32), 8000, 22050)
    np.testing.assert_allclose(y[1000:-1000], 1.0, atol=1e-3)


def test_agrees_with_scipy_polyphase_on_band_limited_noise():
    signal = importorskip("scipy.signal")
    rng = np.random.default_rng(1)
    # Noise low-passed well below both Nyquist frequencies, where both filters are flat.
    x = signal.sosfiltfilt(signal.butter(8, 2000, fs=22050, output="sos"),
                           rng.standard_normal(22050))
    ours, theirs = resample(x, 22050, 8000), signal.resample_poly(x, 160, 441)
    inner = slice(800, -800)
    assert np.abs(ours[inner] - theirs[inner]).max() < 5e-3 * np.abs(theirs).max()


@pytest.mark.parametrize("bad", [0, -8000, 8000.5])
def test_bad_rates_are_refused(bad):
    with pytest.raises(ValueError, match="resample: orig_sr must be a positive integer"):
        resample(np.zeros(10), bad, 8000)


@pytest.mark.parametrize("orig", [1_000_003, 383_983, 65_297])
def test_rates_whose_filter_would_be_huge_are_refused_and_named(orig):
    """A prime rate makes the ratio's terms as large as the rate: the filter would need tens of
    millions of taps (2.9 GB and 14 s for an 844-byte file before the bound)."""
    with pytest.raises(ValueError, match=f"resample: {orig:,} Hz to 16,000 Hz is the ratio "
                                         f"16000/{orig} in lowest terms, beyond 16,384"):
        resample(np.zeros(10, np.float32), orig, 16000)


def test_common_rates_are_within_the_bound():
    for orig in (8000, 11025, 11127, 22050, 37800, 44100, 48000, 96000, 192000, 384000):
        assert resample(np.zeros(orig // 100, np.float32), orig, 16000).shape == (160,)
