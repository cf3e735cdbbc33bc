"""``chainrule train --out DIR`` holds one run: a killed run leaves an unfinished run (never
the old model beside a new history), ``--resume`` finishes it with bitwise the weights of an
uninterrupted run, and a folder holding a run is not written into without being told."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import chainrule as cr

_ROOT = Path(cr.__file__).resolve().parents[1]
_FAST = ("--epochs", "2", "--layers", "16", "--quiet")


def _spawn(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(_ROOT), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "chainrule.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _weights(folder: Path) -> dict:
    return cr.load_state(folder / "model.safetensors")


def test_a_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    run = ("train", "--epochs", "30", "--layers", "64", "--quiet", "--seed", "5")
    whole = _spawn(*run, "--out", "whole", cwd=tmp_path)
    assert whole.wait(timeout=300) == 0, whole.stderr.read()

    killed = _spawn(*run, "--out", "killed", cwd=tmp_path)
    history = tmp_path / "killed" / "history.csv"
    deadline = time.monotonic() + 300
    while not (history.exists() and len(history.read_text().splitlines()) >= 4):
        assert killed.poll() is None and time.monotonic() < deadline, "finished before the kill"
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    files = {p.name for p in (tmp_path / "killed").iterdir() if not p.name.startswith(".")}
    assert "model.safetensors" not in files and {"run.json", "backup.ckpt"} <= files

    again = _spawn("train", "--out", "killed", cwd=tmp_path)  # not without --resume
    assert again.wait(timeout=300) == 2
    assert "already holds an unfinished run; add --resume" in again.stderr.read()
    resumed = _spawn("train", "--out", "killed", "--resume", cwd=tmp_path)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    assert "(resumed after epoch" in resumed.stdout.read()

    expected, got = _weights(tmp_path / "whole"), _weights(tmp_path / "killed")
    assert all(np.array_equal(expected[name], got[name]) for name in expected)
    rows = (tmp_path / "killed" / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == [str(e) for e in range(1, 31)]
    assert rows == (tmp_path / "whole" / "history.csv").read_text().splitlines()
    assert not (tmp_path / "killed" / "backup.ckpt").exists()


def test_a_finished_run_is_kept_unless_overwritten(chainrule, tmp_path):
    out = tmp_path / "run"
    assert chainrule("train", *_FAST, "--out", out)[0] == 0
    before = (out / "model.safetensors").read_bytes()
    code, _, err = chainrule("train", *_FAST, "--seed", "1", "--out", out)
    assert code == 2 and "already holds a finished run" in err
    assert (out / "model.safetensors").read_bytes() == before
    code, _, err = chainrule("train", *_FAST, "--out", out, "--resume")
    assert code == 2 and "holds a finished run to continue" in err
    code, _, err = chainrule("train", *_FAST, "--seed", "1", "--out", out, "--overwrite")
    assert code == 0, err
    assert (out / "model.safetensors").read_bytes() != before
    assert cr.load_metadata(out / "model.safetensors")["data"]["options"] == {"seed": 1}


def test_resume_keeps_the_runs_settings(chainrule, tmp_path):
    out = tmp_path / "run"
    assert chainrule("train", *_FAST, "--out", out)[0] == 0
    (out / "model.safetensors").unlink()  # as if killed before the model was written
    code, _, err = chainrule("train", "--out", out, "--resume", "--lr", "0.1")
    assert code == 2 and "--lr differ from its run.json (only --epochs may change)" in err
    code, out_text, err = chainrule("train", "--out", out, "--resume", "--epochs", "3")
    assert code == 0, err
    assert "trained 3 epochs" in out_text
    assert len((out / "history.csv").read_text().splitlines()) == 4


def test_out_errors_are_one_line(chainrule, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    code, _, err = chainrule("train", "--out", tmp_path / "file")
    assert code == 2 and f"--out {tmp_path / 'file'} is a file; expected a folder" in err
    assert "Errno" not in err
    code, _, err = chainrule("train", "--out", tmp_path / "none", "--resume")
    assert code == 2 and "holds no run to continue" in err
    code, _, err = chainrule("train", "--resume")
    assert code == 2 and "--resume needs --out DIR" in err


def test_a_refused_run_writes_nothing(chainrule, tmp_path):
    code, _, _ = chainrule("train", "--data", "nope", "--out", tmp_path / "run")
    assert code == 2 and not (tmp_path / "run").exists()


def test_without_matplotlib_the_missing_curves_are_explained(chainrule, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    code, out, err = chainrule("train", *_FAST, "--out", tmp_path / "run")
    assert code == 0, err
    assert "curves.png not written: matplotlib is not installed (pip install matplotlib" in out
    assert not (tmp_path / "run" / "curves.png").exists()
