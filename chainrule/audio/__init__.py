"""Audio: WAV files, resampling, spectral features (STFT, mel, log-mel, MFCC), clip effects and
augmentation, and ``SpeechFeatures``, the front end of the speech models."""

from .effects import add_noise, augment, place, trim_silence
from .features import (
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
from .frontend import SpeechFeatures
from .resample import resample
from .wav import read_wav, write_wav

__all__ = [
    "read_wav", "write_wav", "resample", "stft", "mel_filterbank", "hz_to_mel", "mel_to_hz",
    "melspectrogram", "power_to_db", "log_mel_spectrogram", "dct_matrix", "mfcc",
    "trim_silence", "place", "add_noise", "augment", "SpeechFeatures",
]
