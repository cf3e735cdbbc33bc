"""Kill a real training process with SIGKILL and resume it: the final weights must be bitwise
those of a run that was never interrupted."""

import os
import signal
import subprocess
import sys
import time

import numpy as np

import chainrule as cr

# Digits, Dropout (global generator), shuffling (the loader's generator), Adam's moments, a
# StepLR schedule and EarlyStopping's counters: each must be restored for an exact resume.
_TRAIN = """
import sys, time
import numpy as np
import chainrule as cr

backup, out, pause_epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])

class PauseMidEpoch(cr.callbacks.Callback):
    def on_batch_end(self, batch, logs=None):
        if len(self.history.epoch) == pause_epoch and batch == 5:
            open(out + ".paused", "w").close()
            time.sleep(600)  # the test kills the process here

(x, y), _ = cr.datasets.load_digits(flatten=True)
cr.manual_seed(0)
model = cr.nn.Sequential(cr.nn.Linear(64, 32), cr.nn.ReLU(), cr.nn.Dropout(0.2),
                         cr.nn.Linear(32, 10))
optimizer = cr.optim.Adam(model.parameters(), lr=0.005)
scheduler = cr.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
backup_callback = cr.callbacks.BackupAndRestore(backup)
cr.fit(model, (x, y), loss="cross_entropy", optimizer=optimizer, scheduler=scheduler, epochs=5,
       batch_size=64, progress=False,
       callbacks=[cr.callbacks.EarlyStopping("loss", patience=3), backup_callback,
                  PauseMidEpoch()])
np.savez(out, **model.state_dict())
print("restored", backup_callback.restored_epoch)
"""


def _env():
    root = os.path.dirname(os.path.dirname(cr.__file__))
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    # One BLAS thread: the same arithmetic order in every process, and light on shared CPUs.
    return {**os.environ, "PYTHONPATH": path, "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run(backup, out, pause_epoch=-1) -> str:
    done = subprocess.run([sys.executable, "-c", _TRAIN, str(backup), str(out), str(pause_epoch)],
                          env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_killed_training_resumes_bitwise(tmp_path):
    assert _run(tmp_path / "a.ckpt", tmp_path / "a.npz").strip() == "restored None"

    backup, out = tmp_path / "b.ckpt", tmp_path / "b.npz"
    child = subprocess.Popen([sys.executable, "-c", _TRAIN, str(backup), str(out), "3"],
                             env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not os.path.exists(f"{out}.paused"):
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the training process never reached epoch 3"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)  # mid-epoch 3, three epochs after the first backup
    finally:
        child.kill()
        child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    assert backup.exists() and not out.exists()

    assert _run(backup, out).strip() == "restored 3"
    expected, resumed = np.load(tmp_path / "a.npz"), np.load(out)
    assert sorted(expected.files) == sorted(resumed.files) == [
        "0.bias", "0.weight", "3.bias", "3.weight"]
    for name in expected.files:
        assert np.array_equal(expected[name], resumed[name]), name
    assert not backup.exists()
