"""spoken_digits: synthesis of a small subset with espeak-ng, held-out voices, augmentation,
caches, errors, and a small seeded model that must recognise a voice it never heard."""

import functools
import importlib
import shutil
import subprocess
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.audio import SpeechFeatures
from chainrule.cli import main
from chainrule.datasets import load, load_fsdd, spoken_digits

# The package's name ``spoken_digits`` is the function; the module is reached by its path.
module = importlib.import_module("chainrule.datasets.spoken_digits")

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed: apt-get install espeak-ng")
# Two accents x three variants x one speed and pitch: 60 clips, 20 of them by the held-out m3.
SMALL = dict(accents=("en-us", "en-gb"), variants=("m1", "f2", "m3"), test_variants=("m3",),
             speeds=(175,), pitches=(50,), flite_voices=())


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("speech-cache")


@needs_espeak
def test_small_subset_shapes_split_and_caches(cache, capsys):
    (x_train, y_train), (x_test, y_test) = spoken_digits(cache, augment=1, **SMALL)
    # The first call says what it synthesises, then where the cache is and how big.
    said = capsys.readouterr().err.splitlines()
    assert said[0].startswith("spoken-digits: synthesising 60 clips with espeak-ng into ")
    assert said[-1].startswith("spoken-digits: ") and f"cached in {cache / 'spoken-digits'} " \
        "(chainrule cache lists the cache; chainrule cache --clear empties it)" in said[-1]
    assert x_train.shape == (80, 1, 32, 63) and x_test.shape == (20, 1, 32, 63)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_train), [8] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [2] * 10)
    assert np.isfinite(x_train).all()
    # The augmented copies differ from the clean clips they came from.
    assert np.abs(x_train[:40] - x_train[40:]).mean() > 0.1

    audio = cache / "spoken-digits" / "audio-8000hz-trim40db"
    assert (audio / "7_espeak-en-gb+m3_17550.wav").is_file()
    assert len(list(audio.glob("*.wav"))) == 60
    # The audio cache is a folder in FSDD's layout: the voices are its speakers.
    (_, _), (x_fsdd, y_fsdd) = load_fsdd(audio, test_speakers=("espeak-en-us+m3",
                                                              "espeak-en-gb+m3"))
    assert len(x_fsdd) == 20 and sorted(y_fsdd) == sorted(y_test)

    start = time.perf_counter()
    (again, _), _ = spoken_digits(cache, augment=1, **SMALL)
    assert time.perf_counter() - start < 2.0
    np.testing.assert_array_equal(again, x_train)
    assert capsys.readouterr().err == ""  # read from the cache: nothing to say


@needs_espeak
def test_seed_noise_and_augment_count(cache):
    (a, _), (test_a, _) = spoken_digits(cache, augment=2, seed=1, **SMALL)
    (b, _), (test_b, _) = spoken_digits(cache, augment=2, seed=2, **SMALL)
    assert len(a) == 120
    np.testing.assert_array_equal(a[:40], b[:40])  # the clean clips
    assert not np.allclose(a[40:], b[40:]) and not np.allclose(test_a, test_b)
    _, (clean, _) = spoken_digits(cache, test_snr_db=None, **SMALL)
    _, (noisy, _) = spoken_digits(cache, test_snr_db=0.0, **SMALL)
    assert np.abs(clean - noisy).mean() > 0.2


@needs_espeak
def test_waveforms_and_the_catalog(cache):
    (w_train, _), (w_test, y_test) = spoken_digits(cache, waveforms=True, augment=0,
                                                   test_snr_db=None, **SMALL)
    assert w_train.shape == (40, 8000) and w_test.dtype == np.float32
    centre = np.abs(w_test[:, 3000:5000]).mean()
    assert centre > 10 * np.abs(w_test[:, :300]).mean()  # clean clips are centred
    (x_train, _), _ = load("spoken-digits", cache_dir=cache, seed=123, augment=0, **SMALL)
    assert x_train.shape == (40, 1, 32, 63)


# A seeded, CI-sized version of examples/speech_digits.py: 4 accents x 6 variants, one variant
# (m3) held out in every accent, test noise at 10 dB SNR.
TRAINED = dict(accents=("en-us", "en-gb", "en-gb-scotland", "en-029"),
               variants=("m1", "m2", "f1", "f2", "klatt", "m3"), test_variants=("m3",),
               speeds=(150, 210), pitches=(50,), flite_voices=(), augment=1)


@pytest.fixture(scope="module")
def trained(cache):
    (x_train, y_train), test = spoken_digits(cache, **TRAINED)
    cr.manual_seed(0)
    model = cr.models.build("speech-cnn", x_train.shape[1:], 10, channels=(8, 16, 32),
                            hidden=32)
    cr.fit(model, (x_train, y_train), loss="cross_entropy", optimizer="adam", epochs=6,
           batch_size=32, seed=0, progress=False)
    return model, test


@needs_espeak
def test_a_small_cnn_recognises_a_held_out_voice_in_noise(trained):
    model, (x_test, y_test) = trained
    assert len(x_test) == 80
    accuracy = cr.evaluate(model, (x_test, y_test), metrics=("accuracy",))["accuracy"]
    assert accuracy >= 0.85, accuracy


@needs_espeak
def test_predict_command_names_the_digit_in_a_recording(trained, tmp_path, capsys):
    model, _ = trained
    cr.save(model, tmp_path / "speech.safetensors")
    heard = []
    for word in module.DIGIT_WORDS:
        # The held-out voice as espeak-ng writes it: 22,050 Hz, with silence around the word.
        clip = tmp_path / f"{word}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us+m3", "-s", "150", "-w", str(clip), word],
                       check=True)
        assert main(["predict", str(tmp_path / "speech.safetensors"), str(clip)]) == 0
        heard.append(int(capsys.readouterr().out))
    assert sum(h == d for d, h in enumerate(heard)) >= 9, heard


@needs_espeak
def test_train_command_on_spoken_digits(cache, tmp_path, monkeypatch, capsys):
    # The command loads the data set by name; a small subset keeps this test quick.
    monkeypatch.setattr(module, "spoken_digits", functools.partial(spoken_digits, cache, **SMALL))
    status = main(["train", "--data", "spoken-digits", "--model", "speech-cnn", "--epochs", "1",
                   "--quiet", "--out", str(tmp_path)])
    assert status == 0
    out = capsys.readouterr().out
    assert "speech-cnn on spoken-digits (72 train, 8 validation, 20 test samples" in out
    assert "test accuracy" in out
    front = SpeechFeatures.of(cr.load_model(tmp_path / "model.safetensors"))
    assert front.get_config() == SpeechFeatures().get_config()


def test_missing_program_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(module.shutil, "which", lambda program: None)
    with pytest.raises(FileNotFoundError, match="the program 'espeak-ng' is not installed"):
        spoken_digits(tmp_path, **SMALL)
    with pytest.raises(FileNotFoundError, match="the program 'flite' is not installed"):
        spoken_digits(tmp_path, **{**SMALL, "accents": (), "test_variants": (),
                                   "flite_voices": ("kal", "rms"), "test_flite_voices": ("kal",)})


@pytest.mark.parametrize("options, message", [
    (dict(test_variants=("f5",)), r"test_variants \['f5'\] are not among the voices"),
    (dict(test_variants=("m1", "f2", "m3")), "leave no training clips"),
    (dict(test_variants=()), "leave no test clips"),
    (dict(speeds=(20,)), r"speeds must be values in 80\.\.450"),
    (dict(augment=-1), "augment must be >= 0"),
])
def test_bad_settings(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        spoken_digits(tmp_path, **{**SMALL, **options})


def test_speech_cnn_takes_features_or_windows_and_checks_the_front_end():
    model = cr.models.build("speech-cnn", (1, 32, 63), 10)
    assert isinstance(model[0], SpeechFeatures)
    waves = np.random.default_rng(0).standard_normal((3, 8000)).astype(np.float32)
    from_waves = cr.predict(model, waves)
    assert from_waves.shape == (3, 10) and from_waves.dtype == np.float32
    np.testing.assert_allclose(cr.predict(model, model[0].transform(waves)), from_waves,
                               rtol=1e-6)
    with pytest.raises(ValueError, match=r"input_shape \(1, 40, 101\) differs from the front "
                                         r"end's features \(1, 32, 63\)"):
        cr.models.build("speech-cnn", (1, 40, 101), 10)
    front = SpeechFeatures(n_mels=40, hop_length=80)
    assert cr.models.build("speech-cnn", (1, 40, 101), 10, features=front)[0] is front
