"""Trimming, placing, noise at an SNR and augmentation."""

import numpy as np
import pytest

from chainrule.audio import add_noise, augment, place, trim_silence


def test_trim_keeps_the_loud_part_within_a_frame():
    x = np.r_[np.zeros(1000), 0.5 * np.ones(2000), np.zeros(1000)].astype(np.float32)
    clip, (start, stop) = trim_silence(x, frame_length=128, hop_length=32)
    assert 1000 - 128 < start <= 1000 and 3000 <= stop < 3000 + 128
    np.testing.assert_array_equal(clip, x[start:stop])
    assert trim_silence(np.zeros(500))[1] == (0, 0)
    with pytest.raises(ValueError, match=r"trim_silence: expected one signal of shape \(L,\)"):
        trim_silence(np.zeros((2, 500)))


def test_trim_threshold_is_relative_to_the_loudest_frame():
    quiet, loud = 0.001 * np.ones(1024), np.ones(1024)  # 60 dB apart
    x = np.r_[quiet, loud]
    assert trim_silence(x, top_db=40)[1][0] > 512
    assert trim_silence(x, top_db=70)[1][0] == 0


@pytest.mark.parametrize("offset, expected", [
    (None, [0, 1, 2, 3, 0, 0]), (0, [1, 2, 3, 0, 0, 0]), (4, [0, 0, 0, 0, 1, 2]),
    (-2, [3, 0, 0, 0, 0, 0]), (9, [0] * 6)])
def test_place(offset, expected):
    np.testing.assert_array_equal(place(np.array([1, 2, 3]), 6, offset), expected)


def test_place_crops_long_clips_in_the_middle():
    np.testing.assert_array_equal(place(np.arange(10), 4), [3, 4, 5, 6])


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
def test_noise_has_the_requested_snr(snr):
    rng = np.random.default_rng(0)
    x = np.sin(np.linspace(0, 500, 200_000)).astype(np.float32)
    noisy = add_noise(x, snr, generator=rng)
    assert noisy.dtype == np.float32
    measured = 10 * np.log10(np.mean(x**2) / np.mean((noisy - x) ** 2))
    assert measured == pytest.approx(snr, abs=0.05)


def test_noise_per_signal_snr_and_given_power():
    x = np.zeros((2, 100_000))
    noisy = add_noise(x, np.array([0.0, 20.0]), generator=1, signal_power=[1.0, 4.0])
    np.testing.assert_allclose(noisy.var(axis=1), [1.0, 0.04], rtol=0.02)


def test_augment_is_seeded_and_varies_shift_gain_and_noise():
    clip = np.zeros(400, dtype=np.float32)
    clip[200] = 1.0  # centred in the window at sample 500
    a = augment([clip] * 50, 1000, generator=3, max_shift=200, gain_db=(-6, 6), snr_db=10)
    b = augment([clip] * 50, 1000, generator=3, max_shift=200, gain_db=(-6, 6), snr_db=10)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50, 1000) and a.dtype == np.float32
    centres = np.abs(a).argmax(axis=1)  # noise at 10 dB of the clip is far below the spike
    assert 300 <= centres.min() and centres.max() <= 700 and np.ptp(centres) > 250
    peaks = np.abs(a).max(axis=1)
    assert peaks.max() / peaks.min() > 2.5  # gains spread over 12 dB = a factor of 4


def test_augment_noise_snr_is_measured_against_the_clip_not_the_window():
    clip = np.ones(100, dtype=np.float32)
    out = augment([clip] * 200, 10_000, generator=0, snr_db=0.0)
    np.testing.assert_allclose(out[:, :4000].var(), 1.0, rtol=0.05)  # noise power = clip power


def test_augment_without_effects_centres_and_handles_no_clips():
    out = augment([np.ones(2, dtype=np.float32), np.ones(4, dtype=np.float32)], 6)
    np.testing.assert_array_equal(out, [[0, 0, 1, 1, 0, 0], [0, 1, 1, 1, 1, 0]])
    assert augment([], 6).shape == (0, 6)
