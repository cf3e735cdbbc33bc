"""Mutation fuzzing of every loader of user files, in a child process: ``make fuzz``.

    python -m fuzz.campaign --seconds 300      (from tests/, with chainrule importable)

Prints the inputs tried per target and the outcomes by category; exits 1 if any input ended in
a failure category (an undocumented exception, a hang, a crash, memory beyond the budget, or
code execution), listing the first few with the steps that reproduce them.
"""

from __future__ import annotations

import argparse
import collections
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import seeds
from .mutate import mutate, mutators
from .supervisor import FAILURES, Supervisor


class Fuzzer:
    """The seeds, a work folder and a supervised worker: ``try_one(target, seed, steps)``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.canary = str(self.folder / "CANARY")
        (self.folder / "seeds").mkdir()
        self.seeds = seeds.build(self.folder / "seeds", self.canary)
        self.work = self.folder / "work"
        shutil.copytree(self.folder / "seeds" / "cifar", self.work / "cifar")
        self.supervisor = Supervisor(self.canary)

    def try_one(self, target: str, seed: int, steps: list[tuple[int, int]]) -> dict:
        """Mutate seed number ``seed`` of ``target`` by ``steps`` and load it in the worker."""
        source = self.seeds[target][seed % len(self.seeds[target])]
        data = mutate(source.read_bytes(), target, steps, self.canary)
        path = (self.work / "cifar" / "test_batch.bin" if target == "cifar"
                else self.work / f"input{source.suffix}")
        path.write_bytes(data)
        result = self.supervisor.run(target, path)
        result.update(target=target, seed=source.name, steps=steps, size=len(data))
        return result

    def close(self) -> None:
        self.supervisor.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="total time (120)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--targets", nargs="*", help="targets to fuzz (all)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures = []
    with tempfile.TemporaryDirectory() as folder:
        fuzzer = Fuzzer(folder)
        targets = args.targets or list(fuzzer.seeds)
        end = time.monotonic() + args.seconds
        try:
            while time.monotonic() < end:
                target = rng.choice(targets)
                steps = [(rng.randrange(len(mutators(target))), rng.randrange(2**32))
                         for _ in range(rng.randint(1, 3))]
                result = fuzzer.try_one(target, rng.randrange(100), steps)
                counts[target][result["category"]] += 1
                if result["category"] in FAILURES:
                    failures.append(result)
        finally:
            fuzzer.close()
    categories = ["ok", "refused", *FAILURES]
    print(f"{'target':<12}{'inputs':>8}" + "".join(f"{c:>16}" for c in categories))
    for target in sorted(counts):
        row = counts[target]
        print(f"{target:<12}{sum(row.values()):>8}" + "".join(f"{row[c]:>16}" for c in categories))
    total = collections.Counter()
    for row in counts.values():
        total.update(row)
    print(f"{'all':<12}{sum(total.values()):>8}" + "".join(f"{total[c]:>16}" for c in categories))
    for failure in failures[:10]:
        print(f"\nFAILURE {failure['category']} on {failure['target']} seed {failure['seed']} "
              f"steps {failure['steps']}:\n  {failure['detail']}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
