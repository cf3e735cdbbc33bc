"""WAV reading and writing: 8- and 16-bit PCM, stereo mixing, streams without a length, errors."""

import io
import os
import struct
import wave

import numpy as np
import pytest

from chainrule.audio import read_wav, write_wav


def _raw_wav(path, frames: bytes, channels: int, width: int, rate: int = 8000):
    with wave.open(str(path), "wb") as file:
        file.setnchannels(channels)
        file.setsampwidth(width)
        file.setframerate(rate)
        file.writeframes(frames)


def test_16_bit_values_and_rate(tmp_path):
    pcm = np.array([0, 16384, -16384, 32767, -32768], dtype="<i2")
    _raw_wav(tmp_path / "a.wav", pcm.tobytes(), 1, 2, 22050)
    samples, rate = read_wav(tmp_path / "a.wav")
    assert rate == 22050 and samples.dtype == np.float32
    np.testing.assert_array_equal(samples, [0.0, 0.5, -0.5, 32767 / 32768, -1.0])


def test_8_bit_is_unsigned_around_128(tmp_path):
    _raw_wav(tmp_path / "a.wav", bytes([128, 192, 64, 0, 255]), 1, 1)
    samples, _ = read_wav(str(tmp_path / "a.wav"))
    np.testing.assert_array_equal(samples, [0.0, 0.5, -0.5, -1.0, 127 / 128])


def test_stereo_is_mixed_to_mono_or_kept(tmp_path):
    frames = np.array([[16384, 0], [-16384, 8192], [8192, 8192]], dtype="<i2")  # (L, channels)
    _raw_wav(tmp_path / "s.wav", frames.tobytes(), 2, 2)
    mono, _ = read_wav(tmp_path / "s.wav")
    np.testing.assert_allclose(mono, [0.25, -0.125, 0.25])
    both, _ = read_wav(tmp_path / "s.wav", mono=False)
    assert both.shape == (2, 3)
    np.testing.assert_allclose(both[1], [0.0, 0.25, 0.25])


@pytest.mark.parametrize("width", [1, 2])
@pytest.mark.parametrize("channels", [1, 2])
def test_round_trip(tmp_path, width, channels):
    levels = 128 if width == 1 else 32768
    rng = np.random.default_rng(0)
    x = (rng.integers(-levels, levels, (channels, 100)) / levels).astype(np.float32)
    write_wav(tmp_path / "r.wav", x[0] if channels == 1 else x, 16000, sample_width=width)
    y, rate = read_wav(tmp_path / "r.wav", mono=False)
    assert rate == 16000
    np.testing.assert_array_equal(y, x)


def test_write_clips_out_of_range_values():
    buffer = io.BytesIO()
    write_wav(buffer, np.array([2.0, -3.0]), 8000)
    buffer.seek(0)
    np.testing.assert_array_equal(read_wav(buffer)[0], [32767 / 32768, -1.0])


def test_stream_with_placeholder_length_reads_to_the_end():
    # A synthesiser writing to a pipe cannot seek back: its header claims a huge length.
    pcm = np.arange(-5, 6, dtype="<i2") * 1000
    header = (b"RIFF" + struct.pack("<I", 0x7FFFFFFF) + b"WAVEfmt "
              + struct.pack("<IHHIIHH", 16, 1, 1, 22050, 44100, 2, 16)
              + b"data" + struct.pack("<I", 0x7FFFFFFF - 36))
    samples, rate = read_wav(io.BytesIO(header + pcm.tobytes() + b"\x01"))  # + half a frame
    assert rate == 22050
    np.testing.assert_array_equal(samples, pcm / 32768)


def test_unsupported_width_names_the_file_and_width(tmp_path):
    _raw_wav(tmp_path / "w24.wav", bytes(6), 1, 3)
    with pytest.raises(ValueError, match=r"w24\.wav holds 24-bit samples; only 8- and 16-bit"):
        read_wav(tmp_path / "w24.wav")


def test_float_wav_and_non_wav_are_refused(tmp_path):
    float_wav = (b"RIFF" + struct.pack("<I", 36 + 8) + b"WAVEfmt "
                 + struct.pack("<IHHIIHH", 16, 3, 1, 8000, 32000, 4, 32)
                 + b"data" + struct.pack("<I", 8) + np.zeros(2, "<f4").tobytes())
    (tmp_path / "f.wav").write_bytes(float_wav)
    with pytest.raises(ValueError, match=r"f\.wav is not an 8- or 16-bit PCM WAV file"):
        read_wav(tmp_path / "f.wav")
    (tmp_path / "t.wav").write_text("not audio")
    with pytest.raises(ValueError, match="not an 8- or 16-bit PCM WAV"):
        read_wav(tmp_path / "t.wav")
    (tmp_path / "short.wav").write_bytes(b"RIFF")
    with pytest.raises(ValueError, match=r"PCM WAV file \(the header is cut short\)"):
        read_wav(tmp_path / "short.wav")


def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="floating-point samples"):
        write_wav(tmp_path / "x.wav", np.zeros((1, 2, 3)), 8000)
    with pytest.raises(ValueError, match="sample_width must be 1 or 2"):
        write_wav(tmp_path / "x.wav", np.zeros(3), 8000, sample_width=3)


def _header_edit(offset: int, value: int) -> bytes:
    """A valid 16-bit mono WAV of 100 samples with one 4-byte header field replaced."""
    buffer = io.BytesIO()
    write_wav(buffer, np.zeros(100, np.float32), 16000)
    raw = bytearray(buffer.getvalue())
    struct.pack_into("<I", raw, offset, value)
    return bytes(raw)


def test_a_chunk_larger_than_the_file_is_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "big-chunk.wav"
    path.write_bytes(_header_edit(16, 10**6))  # the fmt chunk claims a megabyte
    with pytest.raises(ValueError, match=r"big-chunk.wav is not .*a chunk claims more bytes"):
        read_wav(path)


@pytest.mark.parametrize("rate", [0, 999, 384_001, 1_000_003, 2**31 - 1])
def test_sample_rates_out_of_bounds_are_refused_and_named(tmp_path, rate):
    path = tmp_path / "rate.wav"
    path.write_bytes(_header_edit(24, rate))
    with pytest.raises(ValueError, match=f"claims a sample rate of {rate:,} Hz; expected 1,000 "
                                         "to 384,000 Hz"):
        read_wav(path)


@pytest.mark.parametrize("rate", [1_000, 8_000, 44_100, 384_000])
def test_sample_rates_within_bounds_are_read(rate):
    samples, got = read_wav(io.BytesIO(_header_edit(24, rate)))
    assert got == rate and samples.shape == (100,)


def test_a_fifo_or_folder_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.wav")
    with pytest.raises(ValueError, match="is a FIFO"):
        read_wav(tmp_path / "pipe.wav")
    with pytest.raises(ValueError, match="is a folder; expected a .wav file"):
        read_wav(tmp_path)
