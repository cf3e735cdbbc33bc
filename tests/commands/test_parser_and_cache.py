"""The command line itself: ``--debug`` after the subcommand, ``--help`` that lists what the
options take and their defaults, and ``chainrule cache``."""

import pytest

import chainrule as cr
from chainrule.cli import build_parser, main


def test_debug_after_the_subcommand_shows_the_traceback(tmp_path):
    """Before: "unrecognized arguments: --debug"."""
    with pytest.raises(Exception, match="model file not found"):
        main(["evaluate", str(tmp_path / "none.safetensors"), "--debug"])
    with pytest.raises(Exception, match="model file not found"):
        main(["--debug", "evaluate", str(tmp_path / "none.safetensors")])


def test_without_debug_errors_stay_one_line(chainrule, tmp_path):
    code, _, err = chainrule("evaluate", tmp_path / "none.safetensors")
    assert code == 2 and err == f"chainrule evaluate: error: model file not found: " \
                                f"{tmp_path / 'none.safetensors'}\n"


def _help(*argv) -> str:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    return " ".join(subparsers.choices[argv[0]].format_help().split())


def test_train_help_lists_models_data_sets_and_defaults():
    text = _help("train")
    for model in ("mlp", "cnn", "speech-cnn", "bow", "lstm", "transformer"):
        assert model in text
    for data in cr.datasets.names():
        assert data in text
    assert "see below" not in text
    for default in ("(default adam)", "default 32", "(default 0)", "(default 2e-3)",
                    "(default 256,128)"):
        assert default in text


def test_generate_help_shows_the_length_default():
    assert "characters to generate (default 300)" in _help("generate")


def test_cache_lists_sizes_and_clears_what_chainrule_wrote(chainrule, tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path))
    code, out, _ = chainrule("cache")
    assert code == 0 and out == f"{tmp_path}: 0 B (empty)\n"
    (tmp_path / "spoken-digits" / "audio").mkdir(parents=True)
    (tmp_path / "spoken-digits" / "audio" / "a.wav").write_bytes(b"\0" * 1500)
    (tmp_path / "spoken-digits" / "features.npz").write_bytes(b"\0" * 500)
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "test_batch.bin").write_bytes(b"\0" * 30)
    code, out, _ = chainrule("cache")
    assert out.splitlines() == [
        f"{tmp_path}: 2.0 kB",
        "  cifar10                    30 B  (not chainrule's: --clear keeps it)",
        "  spoken-digits            2.0 kB",
    ]
    code, out, _ = chainrule("cache", "--clear")
    assert code == 0 and out == f"removed {tmp_path / 'spoken-digits'} (2.0 kB)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar10"]
    code, out, _ = chainrule("cache", "--clear")
    assert out == f"nothing to clear in {tmp_path}\n"


@pytest.mark.parametrize("argv, threads", [
    (["cache"], 1),  # the default: one BLAS thread
    (["cache", "--threads", "2"], 2),  # after the subcommand
    (["--threads", "2", "cache"], 2),  # before it
])
def test_threads_set_the_blas_threads_of_the_command(argv, threads, tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path))
    seen = []
    monkeypatch.setattr("chainrule.cli.set_num_threads", seen.append)
    assert main(argv) == 0
    assert seen == [threads]


def test_threads_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["train", "--threads", "0"])
    assert exit.value.code == 2
    assert "--threads: must be a positive integer, got 0" in capsys.readouterr().err
