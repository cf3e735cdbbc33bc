"""Wall time of ``import chainrule`` in fresh interpreters, beside ``import numpy`` (its floor),
alternating the two (and any other checkouts named) run by run so that load on the machine
affects all alike; prints the median of each and the chainrule/numpy ratio.

    python benchmarks/import_time.py [--runs 21] [OTHER_CHECKOUT ...]

Each checkout is put first on ``PYTHONPATH`` for its runs. Bytecode is cached (in a temporary
``PYTHONPYCACHEPREFIX``, after one warm-up run per case) as in an installed package, even where
``PYTHONDONTWRITEBYTECODE`` is set: compiling the sources would otherwise be most of what is
measured. ``python -X importtime -c "import chainrule"`` shows where the time goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# Wall time and CPU time of the import: on a busy machine the process waits for a core, which
# CPU time does not count, so it is the steadier figure there.
_CODE = ("import time; wall, cpu = time.perf_counter(), time.process_time(); import {module}; "
         "print(time.perf_counter() - wall, time.process_time() - cpu)")


def _seconds(module: str, path: str, cache: str) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": path, "PYTHONPYCACHEPREFIX": cache}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # run outside any checkout: ``python -c`` puts the working folder first on the path
    out = subprocess.run([sys.executable, "-c", _CODE.format(module=module)], env=env,
                         cwd=cache, capture_output=True, text=True, check=True).stdout
    wall, cpu = out.split()
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="*", help="other chainrule checkouts to compare")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    here = str(Path(__file__).resolve().parents[1])
    cases = [("numpy", "numpy", here), ("chainrule (this checkout)", "chainrule", here)]
    cases += [(f"chainrule ({c})", "chainrule", str(Path(c).resolve())) for c in args.checkouts]
    times: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in cases}
    with tempfile.TemporaryDirectory() as cache:
        for _, module, path in cases:  # warm-up: writes the bytecode
            _seconds(module, path, cache)
        for _ in range(args.runs):
            for label, module, path in cases:
                times[label].append(_seconds(module, path, cache))
    floors = [statistics.median(t[i] for t in times["numpy"]) for i in (0, 1)]
    print(f"medians over {args.runs} runs (ratio to numpy alone)")
    for label, values in times.items():
        wall, cpu = (statistics.median(t[i] for t in values) for i in (0, 1))
        print(f"{label:<40} wall {wall:.3f} s ({wall / floors[0]:.2f} x)  "
              f"cpu {cpu:.3f} s ({cpu / floors[1]:.2f} x)")


if __name__ == "__main__":
    main()
