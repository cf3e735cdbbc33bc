"""Kill training with SIGKILL at random moments, including while it saves, then check that
what it left loads and that resuming gives bitwise the weights of an uninterrupted run.

Two scenarios, each a real child process:

- ``cli``: ``chainrule train --data digits --out DIR`` (resumed with ``--resume``);
- ``fit``: a script running ``cr.fit`` with Dropout, Adam, ``ModelCheckpoint`` (a model file
  per epoch) and ``BackupAndRestore`` (resumed by running the same script again).

A kill is aimed at a random moment between the first file the uninterrupted run wrote and its
end, or (``("save", n)``) at the moment the n-th temporary file of an atomic save appears in
the run's folder (while that save is under way). After each kill,
every model file and the backup left behind must load; then the run is completed and its final
weights compared bit for bit with the reference run's. ``make crash`` runs 20 kills per
scenario:

    python -m crash.harness --kills 20      (from tests/, with chainrule importable)
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.io import load_checkpoint

ROOT = Path(cr.__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "import sys; from chainrule.cli import main; sys.exit(main())"]
TRAIN = ["train", "--data", "digits", "--epochs", "6", "--seed", "3", "--batch-size", "64",
         "--quiet"]

FIT = """
import sys
import numpy as np
import chainrule as cr

folder = sys.argv[1]
(x, y), _ = cr.datasets.load_digits(flatten=True)
cr.manual_seed(0)
model = cr.nn.Sequential(cr.nn.Linear(64, 32), cr.nn.ReLU(), cr.nn.Dropout(0.2),
                         cr.nn.Linear(32, 10))
optimizer = cr.optim.Adam(model.parameters(), lr=0.005)
cr.fit(model, (x, y), loss="cross_entropy", optimizer=optimizer, epochs=6, batch_size=64,
       progress=False, callbacks=[
           cr.callbacks.ModelCheckpoint(folder + "/ckpt/model-{epoch:02d}.safetensors"),
           cr.callbacks.BackupAndRestore(folder + "/backup.ckpt")])
cr.save(model, folder + "/final.safetensors")
"""


def _env() -> dict:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    # One BLAS thread: the same arithmetic order in every process.
    return {**os.environ, "PYTHONPATH": path, "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Scenario:
    """One way of training: its command, where its final model lands, how to resume it and
    which files it leaves that must load."""

    def __init__(self, name: str):
        self.name = name

    def command(self, folder: Path, resume: bool = False) -> list[str]:
        if self.name == "cli":
            if resume:
                return [*CLI, "train", "--out", str(folder), "--resume", "--quiet"]
            return [*CLI, *TRAIN, "--out", str(folder)]
        return [sys.executable, "-c", FIT, str(folder)]

    def final(self, folder: Path) -> Path:
        return folder / ("model.safetensors" if self.name == "cli" else "final.safetensors")

    def finished(self, folder: Path) -> bool:
        return self.final(folder).exists() and not (folder / "backup.ckpt").exists()

    def run(self, folder: Path, resume: bool = False) -> None:
        done = subprocess.run(self.command(folder, resume), env=_env(), capture_output=True,
                              text=True, timeout=600, check=False)
        if done.returncode:
            raise AssertionError(f"{self.name} run failed ({done.returncode}):\n{done.stderr}")

    def check_leftovers(self, folder: Path, model: cr.nn.Module) -> int:
        """Load every model file and the backup a killed run left (the backup into ``model``,
        one of the run's architecture); how many there were."""
        models = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("ckpt/*.safetensors"))
        for path in models:
            cr.load_model(path)
        backup = folder / "backup.ckpt"
        if backup.exists():
            optimizer = cr.optim.Adam(model.parameters())
            load_checkpoint(backup, model=model, optimizer=optimizer)
        return len(models) + backup.exists()

    def complete(self, folder: Path) -> None:
        """Finish the killed run: resume it, or start it if it left nothing to resume."""
        if self.finished(folder):
            return
        started = self.name == "fit" or (folder / "run.json").exists()
        self.run(folder, resume=started and self.name == "cli")


def _names(folder: Path) -> set[str]:
    return {n for d in (folder, folder / "ckpt") if d.exists() for n in os.listdir(d)}


def _first_file(scenario: Scenario, folder: Path) -> tuple[float, float]:
    """Run uninterrupted, polling: (seconds until its first file appeared, total seconds)."""
    folder.mkdir(parents=True)
    start = time.perf_counter()
    process = subprocess.Popen(scenario.command(folder), env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    first = None
    while process.poll() is None:
        if first is None and _names(folder):
            first = time.perf_counter() - start
        time.sleep(0.002)
    if process.returncode:
        raise AssertionError(f"the {scenario.name} reference run failed")
    total = time.perf_counter() - start
    return (total if first is None else first), total


def _kill(scenario: Scenario, folder: Path, moment) -> dict:
    """Start the run and SIGKILL it ``moment`` seconds after its first file appears, or, for
    ``moment = ("save", n)``, as the n-th temporary file of a save appears; what happened."""
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(scenario.command(folder), env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    during_save, seen = False, set()
    while process.poll() is None:
        names = _names(folder)
        seen |= {name for name in names if name.endswith(".tmp") or ".tmp" in name}
        if isinstance(moment, tuple) and len(seen) >= moment[1]:
            during_save = True
            break
        if not isinstance(moment, tuple) and names:
            try:
                process.wait(timeout=moment)
            except subprocess.TimeoutExpired:
                pass
            break
        time.sleep(0.0005)
    killed = process.poll() is None
    if killed:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return {"killed": killed, "during_save": during_save and killed}


def _same_weights(a: Path, b: Path) -> bool:
    first, second = cr.load_state(a), cr.load_state(b)
    return list(first) == list(second) and all(
        first[k].dtype == second[k].dtype and np.array_equal(first[k], second[k]) for k in first)


def trial(scenario: Scenario, folder: Path, reference: Path, moment) -> dict:
    """One kill, the checks of what it left, the completion and the bitwise comparison."""
    outcome = _kill(scenario, folder, moment)
    outcome["files_loaded"] = scenario.check_leftovers(folder, cr.load_model(reference))
    scenario.complete(folder)
    outcome["bitwise"] = _same_weights(scenario.final(folder), reference)
    return outcome


def campaign(name: str, kills: int, seed: int, folder: Path) -> list[dict]:
    """A reference run, then ``kills`` killed-and-completed runs (every third during a save)."""
    scenario = Scenario(name)
    reference_folder = folder / f"{name}-reference"
    first, total = _first_file(scenario, reference_folder)
    reference = scenario.final(reference_folder)
    rng = random.Random(seed)
    outcomes = []
    span = 0.8 * (total - first)  # kills land inside the run, not after it
    for i in range(kills):
        moment = ("save", rng.randint(1, 6)) if i % 3 == 2 else rng.uniform(0.0, span)
        outcome = trial(scenario, folder / f"{name}-{i}", reference, moment)
        outcomes.append({**outcome, "moment": moment})
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="kill training at random moments; resume")
    parser.add_argument("--kills", type=int, default=20, help="kills per scenario (20)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        for name in ("cli", "fit"):
            outcomes = campaign(name, args.kills, args.seed, Path(folder))
            killed = sum(o["killed"] for o in outcomes)
            saves = sum(o["during_save"] for o in outcomes)
            bitwise = sum(o["bitwise"] for o in outcomes)
            loaded = sum(o["files_loaded"] for o in outcomes)
            print(f"{name}: {len(outcomes)} runs, {killed} killed ({saves} during a save), "
                  f"{loaded} files left behind all loaded, {bitwise}/{len(outcomes)} "
                  "resumed runs bitwise equal to the uninterrupted one")
            failed |= bitwise != len(outcomes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
