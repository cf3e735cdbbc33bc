"""SpeechFeatures: recording → model input, as a layer that saves its settings."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.audio import SpeechFeatures, log_mel_spectrogram, read_wav, resample, write_wav


def _word(rate, seconds=0.4, freq=300.0):
    """A tone burst with silence either side, like a synthesised word."""
    t = np.arange(int(seconds * rate)) / rate
    burst = 0.5 * np.sin(2 * np.pi * freq * t) * np.hanning(t.size)
    return np.r_[np.zeros(rate // 4), burst, np.zeros(rate // 2)].astype(np.float32)


def test_shapes_and_per_clip_standardisation():
    front = SpeechFeatures(sample_rate=8000, duration=0.5, n_fft=200, hop_length=100, n_mels=20)
    assert front.num_samples == 4000 and front.output_shape == (1, 20, 41)
    waves = np.random.default_rng(0).standard_normal((3, 4000)).astype(np.float32)
    out = front.transform(waves)
    assert out.shape == (3, 1, 20, 41) and out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1, atol=1e-3)
    db = log_mel_spectrogram(waves[1], 8000, 200, 100, 20, fmin=20.0)
    np.testing.assert_allclose(out[1, 0], (db - db.mean()) / db.std(), atol=1e-4)
    np.testing.assert_allclose(front.transform(4 * waves), out, atol=1e-4)  # level removed
    raw = SpeechFeatures(normalize=False).transform(np.zeros((1, 8000), np.float32))
    np.testing.assert_allclose(raw, -100.0, rtol=1e-6)  # 10·log10(amin): the floor


def test_prepare_resamples_and_trims_then_window_centres():
    front = SpeechFeatures()
    clip = front.prepare(_word(22050), 22050)
    assert 0.35 * 8000 < clip.size < 0.45 * 8000 and clip.dtype == np.float32
    np.testing.assert_allclose(clip, front.prepare(resample(_word(22050), 22050, 8000), 8000))
    window = front.window(clip)
    assert window.shape == (8000,)
    loud = np.flatnonzero(np.abs(window) > 0.01)
    assert abs((loud[0] + loud[-1]) / 2 - 4000) < 40
    with pytest.raises(ValueError, match=r"expected a mono signal \(L,\)"):
        front.prepare(np.zeros((2, 100)), 8000)


def test_from_files_reads_any_rate_and_channel_count(tmp_path):
    front = SpeechFeatures()
    write_wav(tmp_path / "a.wav", _word(16000), 16000)
    write_wav(tmp_path / "b.wav", np.stack([_word(8000), _word(8000)]), 8000)
    out = front.from_files([tmp_path / "a.wav", tmp_path / "b.wav"])
    assert out.shape == (2, 1, 32, 63)
    expected = front.transform(front.window(front.prepare(*read_wav(tmp_path / "a.wav")))[None])
    np.testing.assert_array_equal(out[:1], expected)
    # The same word at two rates, mono and stereo, gives nearly the same features.
    assert np.abs(out[0] - out[1]).mean() < 0.2
    assert front.from_files([]).shape == (0, 1, 32, 63)


def test_as_a_layer_it_passes_features_and_converts_waveforms():
    front = SpeechFeatures()
    features = cr.tensor(np.zeros((2, 1, 32, 63), np.float32), requires_grad=True)
    assert front(features) is features
    waves = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32)
    out = front(cr.tensor(waves))
    assert not out.requires_grad
    np.testing.assert_array_equal(out.data, front.transform(waves))
    with pytest.raises(ValueError, match="waveforms must not require grad"):
        front(cr.tensor(waves, requires_grad=True))
    with pytest.raises(ValueError, match=r"expected waveforms \(N, 8000\) or features "
                                         r"\(N, 1, 32, 63\), got \(2, 1, 30, 63\)"):
        front(cr.tensor(np.zeros((2, 1, 30, 63), np.float32)))
    with pytest.raises(ValueError, match=r"expected waveforms of shape \(N, 8000\)"):
        front(cr.tensor(np.zeros((2, 7999), np.float32)))
    with pytest.raises(TypeError, match="expected a Tensor"):
        front(waves)


def test_settings_are_saved_with_a_model(tmp_path):
    front = SpeechFeatures(sample_rate=16000, duration=0.75, n_mels=24, hop_length=160)
    model = cr.nn.Sequential(front, cr.nn.Flatten(), cr.nn.Linear(24 * 76, 10))
    cr.save(model, tmp_path / "m.safetensors")
    loaded = SpeechFeatures.of(cr.load_model(tmp_path / "m.safetensors"))
    assert loaded.get_config() == front.get_config() and loaded.output_shape == (1, 24, 76)
    assert SpeechFeatures.of(cr.nn.Linear(2, 2)).get_config() == SpeechFeatures().get_config()


def test_window_shorter_than_the_fft_is_refused():
    with pytest.raises(ValueError, match="shorter than n_fft=256"):
        SpeechFeatures(duration=0.01)
