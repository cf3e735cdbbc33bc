"""K-process training under ``mpirun`` equals one process; failures end the job in bounded time;
a run resumes on another number of ranks; ``chainrule train`` under ``mpirun``; several hosts.

Float64 weights agree to 1e-12 (measured: below 4e-16); float32 weights to 1e-6 absolute
(measured: below 4e-8 after 10 steps). Each rank scales its gradients by 1/K before the MPI sum
(exact: a power of two), so what remains is the order of the batch sums inside each rank.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from chainrule.io import read_safetensors

CASES = ("mlp64", "mlp32", "mlp-stop64", "cnn64", "lstm64", "transformer64")
TOLERANCE = {"64": 1e-12, "32": 1e-6}


def _max_difference(expected: dict, got) -> float:
    return max(float(np.max(np.abs(expected[k] - got[k]))) for k in expected)


@pytest.fixture(scope="module", params=[2, 4], ids=["2-ranks", "4-ranks"])
def trained(request, jobs, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"equality{request.param}")
    code, output, _ = jobs.mpirun_job(request.param, "equality", out)
    assert code == 0, output[-3000:]
    return out, json.loads((out / "report.json").read_text())


@pytest.mark.parametrize("case", CASES)
def test_weights_and_logs_equal_one_process(jobs, trained, case):
    out, report = trained
    weights, history = jobs.reference(case)
    tolerance = TOLERANCE[case[-2:]]
    assert _max_difference(weights, np.load(out / f"{case}.npz")) < tolerance
    logs = json.loads((out / f"{case}.json").read_text())
    assert logs.keys() == history.keys()
    for key in history:  # the loss and metrics of the global batch, validation included
        assert np.allclose(logs[key], history[key], rtol=0, atol=100 * tolerance), key
    assert report["identical"][case]


def test_per_rank_batch_norm_is_not_one_process(jobs, trained):
    # Without convert_sync_batchnorm each rank normalises its own part: another model.
    out, _ = trained
    weights, _ = jobs.reference("cnn-perrank64")
    assert _max_difference(weights, np.load(out / "cnn-perrank64.npz")) > 1e-3


def test_buckets_are_sent_during_backward(trained):
    _, report = trained
    launched = [tuple(pair) for pair in report["launched_before_wait"]]
    assert (3, 3) in launched  # the float64 MLP: three buckets, all sent before step() waits
    assert all(sent == total for sent, total in launched)


def test_shards_cover_every_epoch_in_one_process_order(trained):
    assert trained[1]["shards_cover_epochs"]


def test_collectives_give_every_rank_the_same(trained):
    assert trained[1]["collectives_agree"]


def test_rank_0_stops_every_rank_after_the_same_batch(jobs, trained):
    out, _ = trained
    assert len(json.loads((out / "mlp-stop64.json").read_text())["loss"]) == 1
    assert len(jobs.reference("mlp-stop64")[1]["loss"]) == 1


def test_callbacks_run_on_rank_0_only(trained):
    out, _ = trained
    assert [p.name for p in (out / "files").glob("callback-ran-*")] == ["callback-ran-on-rank-0"]
    assert (out / "files" / "mlp64.csv").read_text().count("\n") == 3  # header + 2 epochs


@pytest.mark.parametrize("job, message", [
    ("raise", r"rank 1 of 2: failed with ValueError: .*a deliberate failure"),
    ("kill", r"process rank 1 .* exited on\s+signal 9"),
    ("hang", r"rank 0 of 2: the allreduce of the gradients did not complete within 3 s"),
], ids=["raise", "kill", "hang"])
def test_a_failing_rank_ends_the_job_with_a_message(jobs, tmp_path, job, message):
    code, output, seconds = jobs.mpirun_job(2, job, tmp_path, timeout=60)
    assert code != 0
    assert re.search(message, output), output[-3000:]
    assert seconds < 30


def test_resume_on_more_ranks_equals_an_uninterrupted_run(jobs, tmp_path):
    code, output, _ = jobs.mpirun_job(2, "crash", tmp_path)
    assert code != 0 and "crash at the end of epoch 1" in output
    assert (tmp_path / "backup.ckpt").exists()
    code, output, _ = jobs.mpirun_job(4, "resume", tmp_path)
    assert code == 0, output[-3000:]
    weights, history = jobs.reference("cnn64", epochs=3)
    assert _max_difference(weights, np.load(tmp_path / "resumed.npz")) < 1e-12
    assert np.allclose(json.loads((tmp_path / "resumed.json").read_text())["loss"],
                       history["loss"], rtol=0, atol=1e-12)
    assert not (tmp_path / "backup.ckpt").exists()


def test_chainrule_train_under_mpirun_gives_the_single_process_result(jobs, tmp_path):
    options = ["train", "--epochs", "1", "--layers", "32", "--batch-size", "31"]
    single = subprocess.run([sys.executable, "-m", "chainrule.cli", *options,
                             "--out", str(tmp_path / "one")], capture_output=True, text=True,
                            timeout=120)
    assert single.returncode == 0, single.stderr
    code, output, _ = jobs.run([sys.executable, "-m", "chainrule.cli", "launch", "-n", "4", "--",
                                sys.executable, "-m", "chainrule.cli", *options,
                                "--out", str(tmp_path / "four")])
    assert code == 0, output[-3000:]
    assert output.count("chainrule train: mlp on digits") == 1  # rank 0 speaks
    accuracy = re.compile(r"test loss \S+  test accuracy \S+")
    assert accuracy.findall(output) == accuracy.findall(single.stdout)
    one, _ = read_safetensors(tmp_path / "one" / "model.safetensors", kind="model")
    four, _ = read_safetensors(tmp_path / "four" / "model.safetensors", kind="model")
    assert _max_difference(one, four) < 1e-5  # float32, 42 steps of parts of 8, 8, 8 and 7


def test_equal_across_simulated_hosts(jobs, tmp_path):
    reason = jobs.netns.available()
    if reason:
        pytest.skip(reason)
    with jobs.netns.SimulatedHosts(2) as hosts:
        line = hosts.mpirun(2, [sys.executable, str(jobs.worker.__file__), "mlp", str(tmp_path)])
        code, output, _ = jobs.run(line)
        namespaces = list(hosts.namespaces)
    assert code == 0, output[-3000:]
    weights, _ = jobs.reference("mlp64")
    assert _max_difference(weights, np.load(tmp_path / "mlp64.npz")) < 1e-12
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(ns in listed for ns in namespaces)
