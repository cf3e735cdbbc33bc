"""Spectral features: properties that must hold, and agreement with librosa when installed."""

import numpy as np
import pytest
from optional_packages import importorskip

from chainrule.audio import (
    dct_matrix,
    hz_to_mel,
    log_mel_spectrogram,
    mel_filterbank,
    mel_to_hz,
    melspectrogram,
    mfcc,
    power_to_db,
    stft,
)

RNG = np.random.default_rng(0)
NOISE = RNG.standard_normal((2, 4000)).astype(np.float32)


def test_stft_of_a_tone_peaks_at_its_bin_with_the_window_gain():
    n_fft, rate = 256, 8000
    x = np.cos(2 * np.pi * 1000 * np.arange(4000) / rate)  # 1 kHz = bin 32
    spectrum = stft(x, n_fft=n_fft, hop_length=64)
    assert spectrum.shape == (129, 1 + 4000 // 64)
    magnitude = np.abs(spectrum[:, 5:-5])
    assert (magnitude.argmax(axis=0) == 32).all()
    np.testing.assert_allclose(magnitude[32], n_fft / 4, rtol=1e-6)  # Σ hann / 2


def test_stft_frames_are_centred_and_dtypes_follow_the_input():
    x = np.zeros(1000, dtype=np.float32)
    x[500] = 1.0
    spectrum = stft(x, n_fft=128, hop_length=100, window="ones")
    assert spectrum.dtype == np.complex64
    # With a flat window an impulse gives |S| = 1 in every frame that contains it.
    frames_hit = np.flatnonzero(np.abs(spectrum).max(axis=0) > 0.5)
    np.testing.assert_array_equal(frames_hit, [5])  # frame 5 spans 500 - 64 … 500 + 63
    assert stft(x.astype(np.float64), n_fft=128).dtype == np.complex128
    not_centred = stft(x, n_fft=128, hop_length=100, center=False)
    assert not_centred.shape == (65, 1 + (1000 - 128) // 100)


def test_stft_errors():
    with pytest.raises(ValueError, match="shorter than n_fft=256"):
        stft(np.zeros(100), n_fft=256, center=False)
    with pytest.raises(ValueError, match="unknown window 'kaiser'"):
        stft(np.zeros(1000), window="kaiser")
    with pytest.raises(ValueError, match=r"window has shape \(3,\), expected \(256,\)"):
        stft(np.zeros(1000), n_fft=256, window=np.ones(3))
    with pytest.raises(ValueError, match="expected a real signal"):
        stft(np.zeros(1000, dtype=complex))


@pytest.mark.parametrize("htk", [False, True])
def test_mel_scale_round_trip_and_anchor_points(htk):
    hz = np.array([0.0, 200.0, 999.0, 1000.0, 1001.0, 4000.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz, htk), htk), hz, atol=1e-9)
    assert hz_to_mel(1000.0, htk) == pytest.approx(15.0 if not htk else 999.98553, rel=1e-6)


def test_mel_filterbank_shape_and_slaney_area():
    bank = mel_filterbank(8000, 256, n_mels=32, fmin=20.0)
    assert bank.shape == (32, 129) and bank.dtype == np.float32
    assert (bank >= 0).all() and (bank.max(axis=1) > 0).all()
    # Slaney normalisation: every triangle of height h and base b (Hz) has h·b/2 = 1 per Hz.
    hz_per_bin = 8000 / 256
    np.testing.assert_allclose(bank.sum(axis=1) * hz_per_bin, 1.0, rtol=0.1)
    with pytest.raises(ValueError, match="need 0 <= fmin < fmax <= sample_rate / 2"):
        mel_filterbank(8000, 256, fmax=5000)


def test_power_to_db_floor_is_per_spectrogram():
    power = np.stack([np.full((2, 3), 1.0), np.full((2, 3), 1e-4)]).astype(np.float32)
    power[:, 0, 0] *= 1e-12
    db = power_to_db(power, top_db=30.0)
    assert db.dtype == np.float32
    np.testing.assert_allclose(db[0], [[-30, 0, 0], [0, 0, 0]], atol=1e-5)
    np.testing.assert_allclose(db[1], [[-70, -40, -40], [-40, -40, -40]], atol=1e-4)


def test_dct_matrix_is_orthonormal_and_mfcc_is_the_dct_of_log_mel():
    matrix = dct_matrix(32, 32, dtype=np.float64)
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(32), atol=1e-12)
    options = dict(n_fft=256, hop_length=128, n_mels=32)
    coefficients = mfcc(NOISE, 8000, n_mfcc=13, **options)
    assert coefficients.shape == (2, 13, 32) and coefficients.dtype == np.float32
    np.testing.assert_allclose(coefficients,
                               dct_matrix(13, 32) @ log_mel_spectrogram(NOISE, 8000, **options),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="need 0 < n_mfcc <= n_mels"):
        mfcc(NOISE, 8000, n_mfcc=50, n_mels=40)


def test_batched_features_equal_one_at_a_time():
    batch = log_mel_spectrogram(NOISE, 8000, n_fft=256, hop_length=128, n_mels=32)
    for i in range(2):
        np.testing.assert_array_equal(
            batch[i], log_mel_spectrogram(NOISE[i], 8000, n_fft=256, hop_length=128, n_mels=32))


# ----------------------------------------------------------------- against librosa
SETTINGS = [
    dict(n_fft=256, hop_length=128),
    dict(n_fft=512, hop_length=100, win_length=400),
    dict(n_fft=256, hop_length=64, center=False),
    dict(n_fft=256, hop_length=80, window="hamming", center=True, pad_mode="reflect"),
]


@pytest.fixture(scope="module")
def librosa():
    return importorskip("librosa")


@pytest.mark.parametrize("options", SETTINGS)
def test_stft_matches_librosa(librosa, options):
    ours, theirs = stft(NOISE[0], **options), librosa.stft(NOISE[0], **options)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5 * np.abs(theirs).max())


@pytest.mark.parametrize("options", [dict(n_mels=32), dict(n_mels=40, fmin=20.0, fmax=3800.0),
                                     dict(n_mels=64, htk=True), dict(n_mels=24, norm=None)])
def test_mel_filterbank_matches_librosa(librosa, options):
    theirs = librosa.filters.mel(sr=8000, n_fft=256, **options)
    np.testing.assert_allclose(mel_filterbank(8000, 256, **options), theirs, rtol=1e-5,
                               atol=1e-7 * theirs.max())


def test_log_mel_and_mfcc_match_librosa(librosa):
    x, options = NOISE[0], dict(n_fft=256, hop_length=128, n_mels=32, fmin=20.0)
    mel = librosa.feature.melspectrogram(y=x, sr=8000, **options)
    np.testing.assert_allclose(melspectrogram(x, 8000, **options), mel, rtol=1e-4)
    np.testing.assert_allclose(log_mel_spectrogram(x, 8000, **options),
                               librosa.power_to_db(mel, top_db=80.0), atol=1e-3)
    theirs = librosa.feature.mfcc(y=x, sr=8000, n_mfcc=13, **options)
    np.testing.assert_allclose(mfcc(x, 8000, n_mfcc=13, **options), theirs,
                               atol=1e-4 * np.abs(theirs).max())


def test_resampling_matches_librosa_on_a_tone(librosa):
    from chainrule.audio import resample

    x = np.sin(2 * np.pi * 300 * np.arange(22050) / 22050).astype(np.float32)
    theirs = librosa.resample(x, orig_sr=22050, target_sr=8000, res_type="soxr_hq")
    ours = resample(x, 22050, 8000)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours[800:-800], theirs[800:-800], atol=1e-3)
