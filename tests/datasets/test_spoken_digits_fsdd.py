"""Folders laid out like the Free Spoken Digit Dataset, made of WAV files the test writes."""

import numpy as np
import pytest

from chainrule.audio import SpeechFeatures, write_wav
from chainrule.datasets import load_fsdd
from chainrule.datasets.fsdd import scan_fsdd


def _clip(digit: int, rate: int) -> np.ndarray:
    """A 0.3 s tone whose pitch encodes the digit, between short silences."""
    t = np.arange(int(0.3 * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * (200 + 150 * digit) * t) * np.hanning(t.size)
    return np.r_[np.zeros(rate // 10), tone, np.zeros(rate // 10)].astype(np.float32)


@pytest.fixture
def recordings(tmp_path):
    """Two speakers x digits 0-2 x indices 3-6; 'lee' records in stereo at 16 kHz, 8-bit."""
    for speaker in ("jackson", "lee"):
        for digit in range(3):
            for index in range(3, 7):
                name = tmp_path / f"{digit}_{speaker}_{index}.wav"
                if speaker == "lee":
                    write_wav(name, np.stack([_clip(digit, 16000)] * 2), 16000, sample_width=1)
                else:
                    write_wav(name, _clip(digit, 8000), 8000)
    (tmp_path / "README.md").write_text("not a recording")
    return tmp_path


def test_scan_lists_digit_speaker_index(recordings):
    found = scan_fsdd(recordings)
    assert len(found) == 24
    assert found[0][:3] == (0, "jackson", "3") and found[0][3].name == "0_jackson_3.wav"


def test_official_split_puts_indices_0_to_4_in_the_test_set(recordings):
    (x_train, y_train), (x_test, y_test) = load_fsdd(recordings)
    assert x_train.shape == (12, 1, 32, 63) and x_test.shape == (12, 1, 32, 63)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_test), [4, 4, 4])  # indices 3 and 4
    # Recordings of the same digit agree across rates, channels and bit depths.
    same = np.abs(x_test[y_test == 1][0] - x_test[y_test == 1][-1]).mean()
    other = np.abs(x_test[y_test == 1][0] - x_test[y_test == 2][0]).mean()
    assert same < other / 2


def test_held_out_speakers_and_waveforms(recordings):
    front = SpeechFeatures(sample_rate=16000, duration=0.5)
    (x_train, y_train), (x_test, y_test) = load_fsdd(recordings, test_speakers=("lee",),
                                                     features=front, waveforms=True)
    assert x_train.shape == (12, 8000) and x_test.shape == (12, 8000)
    with pytest.raises(ValueError, match=r"test speakers \['nobody'\] have no recordings"):
        load_fsdd(recordings, test_speakers=("nobody",))


def test_badly_named_files_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="no {digit}_{speaker}_{index}.wav recordings"):
        load_fsdd(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_fsdd(tmp_path / "missing")
    write_wav(tmp_path / "0_ann_x1.wav", _clip(0, 8000), 8000)
    with pytest.raises(ValueError, match="index 'x1' is not a number"):
        load_fsdd(tmp_path)
    write_wav(tmp_path / "zero_ann_1.wav", _clip(0, 8000), 8000)
    with pytest.raises(ValueError, match=r"1 WAV file\(s\) .* e\.g\. 'zero_ann_1\.wav'"):
        load_fsdd(tmp_path)
